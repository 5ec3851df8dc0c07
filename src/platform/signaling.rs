//! WHIP signaling over `fetch` (RFC 9725): `POST` the offer, read the answer and the session
//! URL; `DELETE` the session.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

use super::js;
use crate::core::{ErrorCode, LinkError, Session};

/// The server's answer to the offer.
pub struct Answer {
    /// SDP answer.
    pub sdp: String,
    /// The session the server created (`Location`, `ETag`, `X-Session-ID`).
    pub session: Session,
}

fn headers(token: Option<&str>, content_type: Option<&str>) -> Result<Headers, JsValue> {
    let h = Headers::new()?;
    if let Some(ct) = content_type {
        h.set("Content-Type", ct)?;
    }
    if let Some(t) = token {
        h.set("Authorization", &format!("Bearer {t}"))?;
    }
    Ok(h)
}

async fn fetch(url: &str, init: &RequestInit) -> Result<Response, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, init)).await?;
    resp.dyn_into::<Response>()
}

async fn text(resp: &Response) -> String {
    match resp.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// `POST`s the offer to the WHIP endpoint `url` with `Content-Type: application/sdp` and the
/// bearer token, and returns the answer. `signal` aborts the request.
///
/// Errors: `signaling-network` (no HTTP response), `signaling-http` (non-2xx, with the
/// status), `signaling-answer` (2xx whose body is not an SDP answer).
pub async fn post_offer(url: &str, token: Option<&str>, offer: &str, signal: &AbortSignal) -> Result<Answer, LinkError> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(offer));
    init.set_signal(Some(signal));
    let h = headers(token, Some("application/sdp"))
        .map_err(|e| LinkError::new(ErrorCode::SignalingNetwork, js::error_message(&e)))?;
    init.set_headers(&h);
    let resp = fetch(url, &init).await.map_err(|e| {
        LinkError::new(
            ErrorCode::SignalingNetwork,
            format!(
                "the WHIP endpoint could not be reached ({}): check the URL, that the server runs, and its CORS headers",
                js::error_message(&e)
            ),
        )
    })?;
    let status = resp.status();
    let body = text(&resp).await;
    if !resp.ok() {
        return Err(LinkError::http(status, &body));
    }
    let hdrs = resp.headers();
    let get = |name: &str| hdrs.get(name).ok().flatten();
    let location = get("Location").and_then(|l| resolve(&l, &resp.url()).or(Some(l)));
    if let Some(problem) = unusable_answer(&body) {
        // The server made a session we cannot use: DELETE it (best effort, bounded) so it does
        // not stay behind as an orphan until its grace period ends.
        if let Some(url) = location {
            let token = token.map(str::to_string);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = delete_session(&url, token.as_deref(), false).await;
            });
        }
        return Err(LinkError::new(
            ErrorCode::SignalingAnswer,
            ["the WHIP endpoint answered HTTP ", &status.to_string(), " but ", problem].concat(),
        ));
    }
    if location.is_none() {
        log::warn!("the WHIP answer has no Location header (is it exposed by CORS?): the session cannot be deleted");
    }
    let session = Session::from_response(location.as_deref(), get("X-Session-ID").as_deref(), get("ETag").as_deref());
    Ok(Answer { sdp: body, session })
}

/// Why a 2xx body is no usable SDP answer, or `None` when it is one: it must be an SDP
/// (`v=0` first) with a DTLS fingerprint (`a=fingerprint:`, RFC 8122; WebRTC refuses an answer
/// without one).
fn unusable_answer(body: &str) -> Option<&'static str> {
    if !body.trim_start().starts_with("v=0") {
        return Some("the body is not an SDP answer (it must start with \"v=0\")");
    }
    if !body.contains("a=fingerprint:") {
        return Some("the SDP answer has no DTLS fingerprint (a=fingerprint)");
    }
    None
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
/// candidates).
pub async fn patch_ice_restart(session_url: &str, token: Option<&str>, fragment: &str) -> Result<String, PatchError> {
    let plain = |code, message: String| PatchError { error: LinkError::new(code, message), needs_fresh_session: false };
    let init = RequestInit::new();
    init.set_method("PATCH");
    init.set_body(&JsValue::from_str(fragment));
    let h = headers(token, Some("application/trickle-ice-sdpfrag"))
        .and_then(|h| h.set("If-Match", "\"*\"").map(|_| h))
        .map_err(|e| plain(ErrorCode::SignalingNetwork, js::error_message(&e)))?;
    init.set_headers(&h);
    let resp = fetch(session_url, &init).await.map_err(|e| {
        plain(ErrorCode::SignalingNetwork, format!("the WHIP session could not be reached for an ICE restart ({})", js::error_message(&e)))
    })?;
    let status = resp.status();
    let body = text(&resp).await;
    if !resp.ok() {
        return Err(PatchError { error: LinkError::http(status, &body), needs_fresh_session: restart_refused(status) });
    }
    if !body.contains("a=ice-ufrag:") {
        return Err(plain(ErrorCode::SignalingAnswer, format!("the ICE restart answer (HTTP {status}) has no ICE credentials")));
    }
    Ok(body)
}

/// Resolves a possibly relative `Location` against the request URL, with the browser's URL parser.
fn resolve(location: &str, base: &str) -> Option<String> {
    web_sys::Url::new_with_base(location, base).ok().map(|u| u.href())
}

/// How long the teardown waits for the WHIP `DELETE` to be answered, ms. A server that is slow
/// or unreachable must not keep `disconnect()` pending: the request is aborted after this (the
/// server's grace period then ends the session on its own).
pub const DELETE_TIMEOUT_MS: u32 = 3_000;

/// `DELETE`s the WHIP session (RFC 9725 §4.3), aborted after [`DELETE_TIMEOUT_MS`]. `keepalive`
/// lets the request outlive the page (pagehide). Returns the HTTP status.
pub async fn delete_session(session_url: &str, token: Option<&str>, keepalive: bool) -> Result<u16, JsValue> {
    let init = RequestInit::new();
    init.set_method("DELETE");
    // `keepalive` (Fetch standard) is not in every web-sys RequestInit binding: set it directly.
    js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::from_bool(keepalive))?;
    let h = headers(token, None)?;
    init.set_headers(&h);
    let abort = web_sys::AbortController::new()?;
    init.set_signal(Some(&abort.signal()));
    let _deadline = gloo_timers::callback::Timeout::new(DELETE_TIMEOUT_MS, move || abort.abort());
    let resp = fetch(session_url, &init).await?;
    Ok(resp.status())
}
