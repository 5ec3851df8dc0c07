//! WHIP (RFC 9725) over `fetch`: `POST` the offer, read the answer, the session URL and the
//! ICE servers the server advertises (`Link`, §4.6); ICE restart by `PATCH` (§4.3.1); `DELETE`
//! the session.

use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

use super::http::{self, Header, Request};
use super::{answer_error, post, resolve, unusable_answer, Answer};
use crate::core::trickle::Sent;
use crate::core::{ErrorCode, LinkError, Session};
use crate::platform::js;

/// `POST`s the offer to the WHIP endpoint `url` with `Content-Type: application/sdp` and the
/// bearer token, and returns the answer. `signal` aborts the request.
///
/// Errors: `signaling-network` (no HTTP response), `signaling-http` (non-2xx, with the
/// status), `signaling-answer` (2xx whose body is not an SDP answer).
pub async fn post_offer(url: &str, token: Option<&str>, offer: &str, signal: &AbortSignal) -> Result<Answer, LinkError> {
    let resp = post(url, token, "application/sdp", offer, signal, "the WHIP endpoint").await?;
    let location = resp.header(Header::Location).map(|l| resolve(&l, &resp.url).unwrap_or(l));
    let session_id = resp.header(Header::SessionId);
    let etag = resp.header(Header::ETag);
    let ice_servers = resp.header(Header::Link).map(|l| ice_servers_from_links(&l)).unwrap_or_default();
    let trickle = takes_trickle(resp.header(Header::AcceptPatch).as_deref());
    let (status, body) = (resp.status, resp.body);
    if !(200..300).contains(&status) {
        return Err(LinkError::http(status, &body));
    }
    if let Some(problem) = unusable_answer(&body) {
        // The server made a session we cannot use: DELETE it (best effort, bounded) so it does
        // not stay behind as an orphan until its grace period ends.
        if let Some(url) = location {
            let token = token.map(str::to_string);
            crate::platform::js::spawn(Box::pin(async move {
                let _ = delete_session(&url, token.as_deref(), false).await;
            }));
        }
        return Err(answer_error("the WHIP endpoint", status, problem));
    }
    if location.is_none() {
        log::warn!("the WHIP answer has no Location header (is it exposed by CORS?): the session cannot be deleted");
    }
    let session = Session::from_response(location.as_deref(), session_id.as_deref(), etag.as_deref());
    Ok(Answer { sdp: body, session, ice_servers, trickle })
}

/// `true` when an `Accept-Patch` header names `application/trickle-ice-sdpfrag` (RFC 9725
/// §4.3.1: the server takes trickled candidates).
pub fn takes_trickle(accept_patch: Option<&str>) -> bool {
    accept_patch.is_some_and(|a| {
        a.split(',').any(|t| t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/trickle-ice-sdpfrag"))
    })
}

/// What an `OPTIONS` pre-flight of the WHIP endpoint says (RFC 9725 §4.6): the ICE servers of
/// its `Link` headers, and whether it takes trickle (`Accept-Patch`). A failed pre-flight
/// (network, non-2xx) is logged and counts as "nothing": the offer goes on without.
pub async fn options_preflight(url: &str, token: Option<&str>) -> (Vec<JsValue>, bool) {
    match http::send(Request { method: "OPTIONS", url, token, ..Default::default() }).await {
        Ok(resp) if resp.ok() => {
            let links = resp.header(Header::Link).map(|l| ice_servers_from_links(&l)).unwrap_or_default();
            (links, takes_trickle(resp.header(Header::AcceptPatch).as_deref()))
        }
        Ok(resp) => {
            log::warn!("the WHIP OPTIONS pre-flight answered HTTP {}: no ICE servers from the server", resp.status);
            (Vec::new(), false)
        }
        Err(e) => {
            log::warn!("the WHIP OPTIONS pre-flight failed: {}", js::error_message(&e));
            (Vec::new(), false)
        }
    }
}

/// `PATCH`es trickled candidates to the WHIP session (RFC 9725 §4.3.1): `Content-Type:
/// application/trickle-ice-sdpfrag`, `If-Match` with the session's ETag (`"*"` when it has
/// none), `fragment` from `core::trickle::FragmentHead::fragment`.
pub async fn patch_trickle(session_url: &str, token: Option<&str>, etag: Option<&str>, fragment: &str) -> Sent {
    super::Signaling::patch(session_url, token, "application/trickle-ice-sdpfrag", Some(etag.unwrap_or("\"*\"")), fragment).await
}

/// Why an ICE restart request failed.
pub struct PatchError {
    /// The error, coded like the POST's.
    pub error: LinkError,
    /// `true` when the answer says this session cannot be restarted ([`restart_refused`]): only
    /// a new session helps.
    pub needs_fresh_session: bool,
}

/// `true` for an HTTP status that answers an ICE-restart `PATCH` with "this session cannot be
/// restarted", so the link must `DELETE` it and make a fresh session (RFC 9725 §4.3.1: a server
/// with trickle ICE but no ICE restart MUST answer `422`; servers without `PATCH` answer `405` or
/// `501`; `404`/`410` the session is gone; `409`/`412` the session changed under us (`If-Match`);
/// `400` the server could not use the fragment). Others (`5xx` but `501`, `401`, `403`, `429`)
/// are failures of this attempt only.
pub fn restart_refused(status: u16) -> bool {
    matches!(status, 400 | 404 | 405 | 409 | 410 | 412 | 422 | 501)
}

/// Sends a WHIP ICE restart (RFC 9725 §4.3.1): `PATCH` of the session URL with
/// `Content-Type: application/trickle-ice-sdpfrag` and `If-Match: "*"` (the quoted form: Janus in
/// strict mode wants it, LiveKit's ingress requires an `If-Match`), `fragment` built from an
/// `iceRestart` offer. Returns the server's answer fragment (its new ICE credentials and
/// candidates) and the session's new `ETag`, if it sent one (what later trickle `PATCH`es
/// carry in `If-Match`).
pub async fn patch_ice_restart(session_url: &str, token: Option<&str>, fragment: &str) -> Result<(String, Option<String>), PatchError> {
    let plain = |code, message: String| PatchError { error: LinkError::new(code, message), needs_fresh_session: false };
    let req = Request {
        method: "PATCH",
        url: session_url,
        token,
        content_type: "application/trickle-ice-sdpfrag",
        if_match: "\"*\"",
        body: fragment,
        ..Default::default()
    };
    let resp = http::send(req).await.map_err(|e| {
        plain(ErrorCode::SignalingNetwork, format!("the WHIP session could not be reached for an ICE restart ({})", js::error_message(&e)))
    })?;
    let status = resp.status;
    if !resp.ok() {
        return Err(PatchError { error: LinkError::http(status, &resp.body), needs_fresh_session: restart_refused(status) });
    }
    if !crate::core::text::contains(&resp.body, "a=ice-ufrag:") {
        return Err(plain(ErrorCode::SignalingAnswer, format!("the ICE restart answer (HTTP {status}) has no ICE credentials")));
    }
    let etag = resp.header(Header::ETag);
    Ok((resp.body, etag))
}

/// How long the teardown waits for the WHIP `DELETE` to be answered, ms. A server that is slow
/// or unreachable must not keep `disconnect()` pending: the request is aborted after this (the
/// server's grace period then ends the session on its own).
pub const DELETE_TIMEOUT_MS: u32 = 3_000;

/// `DELETE`s the WHIP session (RFC 9725 §4.3), aborted after [`DELETE_TIMEOUT_MS`]. `keepalive`
/// lets the request outlive the page (pagehide). Returns the HTTP status.
pub async fn delete_session(session_url: &str, token: Option<&str>, keepalive: bool) -> Result<u16, JsValue> {
    let req = Request { method: "DELETE", url: session_url, token, keepalive, timeout_ms: DELETE_TIMEOUT_MS, ..Default::default() };
    Ok(http::send(req).await?.status)
}

/// The ICE servers a WHIP server advertises in its `Link` headers (RFC 9725 §4.6; the browser
/// joins several headers with ", "): each `<url>; rel="ice-server"` with optional `username`,
/// `credential` and `credential-type` parameters, as `RTCIceServer` dictionaries
/// (`{ urls, username?, credential? }`). Links with another `rel` are skipped.
pub fn ice_servers_from_links(header: &str) -> Vec<JsValue> {
    let mut out = Vec::new();
    for link in split_unquoted(header, ',') {
        let Some((target, params)) = link.trim().strip_prefix('<').and_then(|l| l.split_once('>')) else { continue };
        let mut rel = false;
        let server = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&server, &"urls".into(), &target.trim().into());
        for param in split_unquoted(params, ';') {
            let Some((k, v)) = param.split_once('=') else { continue };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "rel" => rel = v.split_whitespace().any(|r| r.eq_ignore_ascii_case("ice-server")),
                "username" => drop(js_sys::Reflect::set(&server, &"username".into(), &v.into())),
                "credential" => drop(js_sys::Reflect::set(&server, &"credential".into(), &v.into())),
                _ => {}
            }
        }
        if rel {
            out.push(server.into());
        }
    }
    out
}

/// Splits at `sep` outside `<…>` and quoted strings (a `Link` header into links at `,`, a link
/// into parameters at `;`).
fn split_unquoted(header: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut angle, mut quote) = (Vec::new(), 0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            '"' if !angle => quote = !quote,
            c if c == sep && !angle && !quote => {
                out.push(header.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(header.get(start..).unwrap_or(""));
    out
}
