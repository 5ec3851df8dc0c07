//! WHIP (RFC 9725): `POST /whip` (offer → `201` + answer, `Location`,
//! `ETag`, `Link` ICE servers, `Accept-Patch`), `OPTIONS /whip` (the same
//! `Link`s, §4.6), `DELETE /whip/sessions/<id>`, and
//! `PATCH /whip/sessions/<id>` (ICE restart or trickle, §4.3; the
//! `restart_status` and `trickle` switches).

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use log::info;

use super::offer::{self, Flavor};
use super::{authorized, blocking, end_session, is_sdp, media_type, App, Reply, Req};
use crate::sdpfrag::{self, sdp_attr, IfMatch, SDPFRAG_TYPE};
use crate::session::SessionOptions;
use crate::state::{lock, Command, PatchOutcome, PatchRequest, Protocol, SessionEntry};

/// How long a `PATCH` waits for the session's thread to answer.
const PATCH_WAIT: Duration = Duration::from_secs(3);

/// The media types `PATCH` takes, for `Accept-Patch`.
const ACCEPT_PATCH: &str = "application/trickle-ice-sdpfrag, application/sdp";

/// An ICE server the `201` of `POST /whip` advertises (RFC 9725 §4.6):
/// `--ice-server URL`, with `--ice-username`/`--ice-credential` for TURN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// A `stun:`, `stuns:`, `turn:` or `turns:` URL.
    pub url: String,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

impl IceServer {
    /// The `Link` header value: `<URL>; rel="ice-server"`, for TURN with
    /// `; username="u"; credential="c"; credential-type="password"`.
    pub fn link(&self) -> String {
        let mut value = format!("<{}>; rel=\"ice-server\"", self.url);
        let turn = self.url.to_ascii_lowercase().starts_with("turn");
        if let (true, Some(user), Some(credential)) = (turn, &self.username, &self.credential) {
            value.push_str(&format!(
                "; username={}; credential={}; credential-type=\"password\"",
                quoted(user),
                quoted(credential)
            ));
        }
        value
    }
}

/// An HTTP quoted-string (RFC 9110 §5.6.4).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The WHIP routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/whip", post(post_handler)).route(
        "/whip/sessions/{id}",
        axum::routing::delete(delete_handler).patch(patch_handler),
    )
}

async fn post_handler(State(app): State<Arc<App>>, req: Req) -> Reply {
    blocking(move || post_whip(&app, &req)).await
}

async fn delete_handler(State(app): State<Arc<App>>, Path(id): Path<String>, req: Req) -> Reply {
    blocking(move || delete_session(&app, &req, &id)).await
}

async fn patch_handler(State(app): State<Arc<App>>, Path(id): Path<String>, req: Req) -> Reply {
    blocking(move || patch_session(&app, &req, &id)).await
}

/// `POST /whip`: answer an SDP offer and start a session.
fn post_whip(app: &App, req: &Req) -> Reply {
    let flavor = Flavor::Whip;
    if let Err(reply) = offer::gate(app, req, flavor) {
        return reply;
    }
    if !is_sdp(req) {
        return Reply::text(415, "Content-Type must be application/sdp");
    }
    let faults = match offer::request_faults(req, flavor) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let options = SessionOptions {
        protocol: Protocol::Whip,
        delay_out_ms: faults.delay_out_ms,
        ..SessionOptions::default()
    };
    let started = match offer::start(app, &req.body, options, flavor) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let body = offer::answer_body(&faults, started.answer_sdp);
    let reply = Reply::new(201, "application/sdp", body)
        .with("Location", format!("/whip/sessions/{}", started.entry.id))
        .with("ETag", format!("\"{}\"", started.entry.etag()))
        .with("X-Session-ID", started.entry.id.clone());
    advertise(app, reply)
}

/// `Accept-Patch` (unless the `trickle` switch is `unadvertised`) and one
/// `Link` per `--ice-server`: what the `201` of `POST /whip` and
/// `OPTIONS /whip` tell about the endpoint.
fn advertise(app: &App, mut reply: Reply) -> Reply {
    if app.registry.faults().trickle.advertised() {
        reply = reply.with("Accept-Patch", ACCEPT_PATCH);
    }
    for server in &app.config.ice_servers {
        reply = reply.with("Link", server.link());
    }
    reply
}

/// `OPTIONS /whip` (RFC 9725 §4.6): `204`, the CORS preflight's headers
/// plus `Accept-Post: application/sdp`, `Accept-Patch` and the ICE servers'
/// `Link`s, as the `201` of `POST /whip` has them. Counted
/// (`optionsRequests`) unless it is a CORS preflight
/// (`Access-Control-Request-Method`), which gets the same answer.
pub fn options(app: &App, cors_preflight: bool) -> Reply {
    if !cors_preflight {
        app.registry.options_request();
    }
    advertise(
        app,
        super::preflight().with("Accept-Post", "application/sdp"),
    )
}

/// A live WHIP session by id (the other protocols' sessions are not WHIP resources).
fn whip_session(app: &App, id: &str) -> Option<Arc<SessionEntry>> {
    app.registry
        .get(id)
        .filter(|e| e.protocol == Protocol::Whip && !e.is_ended())
}

/// `DELETE /whip/sessions/<id>`: the client ends the session.
fn delete_session(app: &App, req: &Req, id: &str) -> Reply {
    let faults = app.registry.faults();
    // `hold_delete_ms`: a server that is slow to answer (or unreachable): the client's
    // teardown must not wait for it forever. This request's own thread sleeps.
    if faults.hold_delete_ms > 0 {
        thread::sleep(Duration::from_millis(faults.hold_delete_ms));
    }
    // `delete_token`: the session's teardown needs the bearer token (checked
    // before the session is looked up, so also for an unknown one).
    let reply = if !faults.delete_token.is_empty() && !authorized(req, &faults.delete_token) {
        app.registry.delete_unauthorized();
        Reply::text(401, "missing or wrong bearer token (delete_token)")
            .with("WWW-Authenticate", "Bearer")
    } else if app
        .registry
        .get(id)
        .is_none_or(|e| e.protocol != Protocol::Whip)
    {
        Reply::text(404, "no such session")
    } else {
        let authorization = req.header("Authorization").map(str::to_string);
        end_session(app, id, move |done| Command::Delete {
            authorization,
            done,
        })
    };
    app.registry.delete_answered();
    reply
}

/// `PATCH /whip/sessions/<id>` (RFC 9725 §4.3): with a trickle-ICE fragment
/// carrying new `a=ice-ufrag`/`a=ice-pwd`, an ICE restart answered by the
/// server's fragment; with the current credentials, trickled candidates
/// (`204`). With `application/sdp`, a full re-offer answered by a full SDP
/// answer.
fn patch_session(app: &App, req: &Req, id: &str) -> Reply {
    let Some(entry) = whip_session(app, id) else {
        return Reply::text(404, "no such session");
    };
    let fragment = match media_type(req).as_deref() {
        Some(SDPFRAG_TYPE) => true,
        Some("application/sdp") => false,
        _ => {
            return Reply::text(
                415,
                format!("Content-Type must be {SDPFRAG_TYPE} (or application/sdp)"),
            )
            .with("Accept-Patch", ACCEPT_PATCH)
        }
    };
    let _patching = lock(&entry.patch_lock);
    if sdpfrag::check_if_match(req.header("If-Match"), &entry.etag()) == IfMatch::Fail {
        if fragment && is_trickle_body(&req.body, entry.remote_ufrag().as_deref()) {
            entry.update(|r| r.trickle_bad_etag += 1);
        }
        return Reply::text(412, "If-Match names neither * nor the session's ETag")
            .with("ETag", format!("\"{}\"", entry.etag()));
    }
    let Ok(body) = std::str::from_utf8(&req.body) else {
        return Reply::text(400, "the body is not UTF-8 text");
    };
    let request = if fragment {
        match sdpfrag::parse_fragment(body) {
            Ok(f) => PatchRequest::Fragment(f),
            Err(reason) => return Reply::text(400, reason),
        }
    } else {
        PatchRequest::Offer(body.to_string())
    };
    let faults = app.registry.faults();
    let restart = is_ice_restart(&request, entry.remote_ufrag().as_deref());
    if restart && faults.restart_status != 0 {
        let status = faults.restart_status;
        app.registry.restart_refused();
        info!(
            "session {}: ICE restart refused with {status} (restart_status)",
            entry.id
        );
        return refused(status, "ICE restart", "restart_status");
    }
    if let (false, true, Some(status)) = (restart, fragment, faults.trickle.refusal()) {
        entry.update(|r| r.trickle_refused += 1);
        info!(
            "session {}: trickle PATCH refused with {status} (trickle)",
            entry.id
        );
        return refused(status, "trickle ICE", "trickle");
    }
    match ask_patch(&entry, request) {
        Ok(Ok(PatchOutcome::Trickled)) => {
            Reply::empty(204).with("ETag", format!("\"{}\"", entry.etag()))
        }
        Ok(Ok(PatchOutcome::Answered { answer_sdp, etag })) => {
            let etag = format!("\"{etag}\"");
            if !fragment {
                return Reply::new(200, "application/sdp", answer_sdp).with("ETag", etag);
            }
            match sdpfrag::answer_fragment(&answer_sdp) {
                Some(frag) => Reply::new(200, SDPFRAG_TYPE, frag).with("ETag", etag),
                None => Reply::text(500, "the SDP answer has no ICE credentials"),
            }
        }
        Ok(Err(reason)) => Reply::text(400, reason),
        Err(reply) => reply,
    }
}

/// Hand a `PATCH` (or a Pipecat renegotiation) to the session's thread and
/// wait for its outcome; `Err` is the reply when it does not answer (`404`
/// gone, `504` too slow).
pub fn ask_patch(
    entry: &SessionEntry,
    request: PatchRequest,
) -> Result<Result<PatchOutcome, String>, Reply> {
    let (reply_tx, reply_rx) = mpsc::channel();
    let sent = entry.send(Command::Patch {
        request,
        reply: reply_tx,
    });
    if sent.is_err() {
        return Err(Reply::text(404, "no such session"));
    }
    match reply_rx.recv_timeout(PATCH_WAIT) {
        Ok(outcome) => Ok(outcome),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Reply::text(404, "no such session")),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Reply::text(504, "the session did not answer")),
    }
}

/// Whether a `PATCH` asks for an ICE restart: its `a=ice-ufrag` is not the
/// one of the offer the session accepted last (the session's own test).
fn is_ice_restart(request: &PatchRequest, current_ufrag: Option<&str>) -> bool {
    let asked = match request {
        PatchRequest::Fragment(f) => Some(f.ufrag.as_str()),
        PatchRequest::Offer(sdp) => sdp_attr(sdp, "ice-ufrag"),
    };
    asked != current_ufrag
}

/// Whether a `PATCH` body is a trickle-ICE fragment with the session's
/// current credentials (a trickle, not an ICE restart).
fn is_trickle_body(body: &[u8], current_ufrag: Option<&str>) -> bool {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| sdpfrag::parse_fragment(b).ok())
        .is_some_and(|f| Some(f.ufrag.as_str()) == current_ufrag)
}

/// The answer to a `PATCH` refused by a switch (`what`: "ICE restart" or
/// "trickle ICE"; `switch`: its name).
fn refused(status: u16, what: &str, switch: &str) -> Reply {
    let reason = match status {
        422 if what == "ICE restart" => format!("{what} not supported (trickle only)"),
        422 => format!("{what} not supported (ICE restart only)"),
        405 => "PATCH not allowed on this resource".to_string(),
        501 => format!("{what} not implemented"),
        _ => format!("{what} refused"),
    };
    let reply = Reply::text(status, format!("{reason} ({switch}={status})"));
    if status == 405 {
        reply.with("Allow", "POST, DELETE, OPTIONS")
    } else {
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_values() {
        let stun = IceServer {
            url: "stun:127.0.0.1:3478".into(),
            username: Some("u".into()),
            credential: Some("c".into()),
        };
        assert_eq!(stun.link(), r#"<stun:127.0.0.1:3478>; rel="ice-server""#);
        let turn = IceServer {
            url: "turn:127.0.0.1:3478?transport=udp".into(),
            username: Some("u".into()),
            credential: Some("c\"\\".into()),
        };
        assert_eq!(
            turn.link(),
            r#"<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="u"; credential="c\"\\"; credential-type="password""#
        );
        let bare = IceServer {
            url: "TURNS:turn.example.net".into(),
            username: None,
            credential: None,
        };
        assert_eq!(bare.link(), r#"<TURNS:turn.example.net>; rel="ice-server""#);
    }
}
