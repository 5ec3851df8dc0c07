//! The HTTP front: WHIP endpoints, the control WebSocket (`/control`), the
//! `/_dev/*` test endpoints, static files.
//!
//! Each request is handled on its own thread, so a `?delay_ms=` answer does
//! not hold up the others, and a control WebSocket lives on the thread of
//! its upgrade request. Routing and handlers work on a plain [`Req`] and
//! return a plain [`Reply`]; only [`run`], [`handle`] and
//! [`crate::control::serve`] touch tiny_http.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::{info, warn};
use tiny_http::{Header, Method, Response, Server, StatusCode};

use crate::control;
use crate::delay;
use crate::faults::{html_error_page, parse_faults, parse_global_faults, AnswerFault};
use crate::files::{self, Served};
use crate::sdpfrag::{self, sdp_attr, IfMatch, SDPFRAG_TYPE};
use crate::session::{self, StartError};
use crate::state::{lock, Command, GlobalFaults, PatchOutcome, PatchRequest, Registry};

/// Largest request body read (an SDP offer is a few KB).
const MAX_BODY: u64 = 1024 * 1024;

/// Longest `POST /_dev/restart?down_ms=` accepted, and the default.
const MAX_DOWN_MS: u64 = 60_000;
const DEFAULT_DOWN_MS: u64 = 2_000;

/// How long a `PATCH` waits for the session's thread to answer.
const PATCH_WAIT: Duration = Duration::from_secs(3);

/// How often the accept loop looks for a restart request.
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// How long DELETE and the server end wait for the session to finish.
const END_WAIT: Duration = Duration::from_secs(3);

/// What the front needs besides the registry.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bearer token required on `POST /whip`, if any.
    pub token: Option<String>,
    /// Directory served at `/`.
    pub www: Option<PathBuf>,
    /// Directory served at `/pkg/`.
    pub pkg: Option<PathBuf>,
    /// Address session UDP sockets bind to.
    pub udp_ip: IpAddr,
}

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct App {
    /// Sessions by id, and the global fault switches.
    pub registry: Arc<Registry>,
    /// Settings.
    pub config: Config,
    /// The control WebSocket connections.
    pub control: control::Hub,
    /// Where `POST /_dev/restart` asks [`run`] to stop.
    pub restart: mpsc::Sender<Restart>,
}

/// A restart asked for by `POST /_dev/restart`. The handshake: the request
/// thread sends this and waits for `closed` (the listener is closed, so a
/// client that has the `202` finds new connections refused); it then sends
/// the `202` and signals `sent`, and the process re-executes itself.
#[derive(Debug)]
pub struct Restart {
    /// How long to stay down.
    pub down: Duration,
    /// Signalled once the listener is closed.
    pub closed: mpsc::Sender<()>,
    /// Signalled once the `202` is out.
    pub sent: mpsc::Receiver<()>,
}

/// A request, read off the wire.
#[derive(Debug, Clone)]
pub struct Req {
    /// Upper-case method name.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query (after `?`), empty if none.
    pub query: String,
    /// Header names (as sent) and values.
    pub headers: Vec<(String, String)>,
    /// Body (read for POST and PATCH only).
    pub body: Vec<u8>,
}

impl Req {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response, before CORS headers are added.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers (Content-Type included).
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// After this reply is sent: restart the process, down this long.
    pub restart: Option<Duration>,
}

impl Reply {
    /// A reply with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
            restart: None,
        }
    }

    /// A plain-text reply.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// A reply without a body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            restart: None,
        }
    }

    /// Add a header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// Headers on every response.
const CORS_HEADERS: [(&str, &str); 2] = [
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "Location, ETag, Link, X-Session-ID, WWW-Authenticate, Allow",
    ),
];

/// Accept requests, each on its own thread, until `POST /_dev/restart`
/// asks to stop (`Some`) or the listener fails (`None`). The caller then
/// drops `server`, which closes the listener, and goes on with the
/// [`Restart`] handshake.
pub fn run(server: &Server, app: &Arc<App>, restart: &mpsc::Receiver<Restart>) -> Option<Restart> {
    loop {
        if let Ok(r) = restart.try_recv() {
            return Some(r);
        }
        let request = match server.recv_timeout(ACCEPT_POLL) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                warn!("HTTP listener failed: {e}");
                return None;
            }
        };
        let app = app.clone();
        if let Err(e) = thread::Builder::new()
            .name("http".into())
            .spawn(move || handle(&app, request))
        {
            warn!("cannot spawn a request thread: {e}");
        }
    }
}

/// Read one request, route it, write the reply.
fn handle(app: &App, mut request: tiny_http::Request) {
    let started = Instant::now();
    let method = match request.method() {
        Method::NonStandard(m) => m.as_str().to_ascii_uppercase(),
        m => m.as_str().to_string(),
    };
    let (path, query) = match request.url().split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (request.url().to_string(), String::new()),
    };
    let headers = header_pairs(&request);
    let mut req = Req {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };

    if req.method == "GET" && req.path == "/control" {
        if let Ok(accept) = control::handshake(&req) {
            // Runs the connection until it ends (a bad upgrade is answered by `route`).
            info!("{}", control::serve(&app.control, request, &accept));
            return;
        }
    }

    let reply = if req.method == "POST" || req.method == "PATCH" {
        let mut reader = request.as_reader().take(MAX_BODY + 1);
        match reader.read_to_end(&mut req.body) {
            Ok(n) if n as u64 > MAX_BODY => Reply::text(413, "body too large"),
            Ok(_) => route(app, &req),
            Err(e) => Reply::text(400, format!("cannot read body: {e}")),
        }
    } else {
        route(app, &req)
    };

    let status = reply.status;
    // A restart: close the listener before the 202 goes out.
    let sent = reply.restart.and_then(|down| {
        let (closed_tx, closed_rx) = mpsc::channel();
        let (sent_tx, sent_rx) = mpsc::channel();
        let asked = app.restart.send(Restart {
            down,
            closed: closed_tx,
            sent: sent_rx,
        });
        asked.ok()?;
        let _ = closed_rx.recv_timeout(END_WAIT);
        Some(sent_tx)
    });
    let mut response = Response::from_data(reply.body).with_status_code(StatusCode(status));
    let all = CORS_HEADERS
        .iter()
        .map(|(n, v)| (*n, v.to_string()))
        .chain(reply.headers);
    for (name, value) in all {
        match Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            Ok(h) => response.add_header(h),
            Err(()) => warn!("dropping bad header {name}: {value:?}"),
        }
    }
    if let Err(e) = request.respond(response) {
        warn!("{} {}: cannot send the reply: {e}", req.method, req.path);
    }
    let line = format!(
        "{} {}{}{} -> {status} ({} ms)",
        req.method,
        req.path,
        if req.query.is_empty() { "" } else { "?" },
        req.query,
        started.elapsed().as_millis()
    );
    if req.path.starts_with("/_dev/state")
        || req.path.starts_with("/_dev/health")
        || req.path == "/_dev/control"
    {
        log::debug!("{line}");
    } else {
        info!("{line}");
    }
    if let Some(sent) = sent {
        let _ = sent.send(());
    }
}

/// Pick the handler for a request.
pub fn route(app: &App, req: &Req) -> Reply {
    if req.method == "OPTIONS" {
        return Reply::empty(204)
            .with(
                "Access-Control-Allow-Methods",
                "GET, POST, PATCH, DELETE, OPTIONS",
            )
            .with(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, If-Match",
            )
            .with("Access-Control-Max-Age", "600");
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["whip"]) => post_whip(app, req),
        ("DELETE", ["whip", "sessions", id]) => delete_session(app, req, id),
        ("PATCH", ["whip", "sessions", id]) => patch_session(app, req, id),
        ("GET", ["_dev", "health"]) => Reply::text(200, "ok"),
        ("GET", ["_dev", "state"]) => state(app),
        ("POST", ["_dev", "sessions", id, "end"]) => server_end(app, id),
        ("POST", ["_dev", "sessions", id, "drop"]) => drop_session(app, id),
        ("POST", ["_dev", "sessions", id, "delay"]) => delay_session(app, req, id),
        ("GET", ["_dev", "faults"]) => faults_reply(app.registry.faults()),
        ("POST", ["_dev", "faults"]) => set_faults(app, req),
        ("POST", ["_dev", "restart"]) => restart(req),
        ("GET", ["control"]) => match control::handshake(req) {
            Err(reply) => reply,
            Ok(_) => Reply::text(500, "the upgrade was not taken over"),
        },
        ("GET", ["_dev", "control"]) => control::report(&app.control),
        ("POST", ["_dev", "control", action]) => control::switch(&app.control, req, action),
        ("GET" | "HEAD", ["pkg", ..]) => match &app.config.pkg {
            Some(dir) => static_file(dir, req.path.trim_start_matches("/pkg")),
            None => not_found(),
        },
        ("GET" | "HEAD", _) => match &app.config.www {
            Some(dir) => static_file(dir, &req.path),
            None => not_found(),
        },
        _ => not_found(),
    }
}

fn not_found() -> Reply {
    Reply::text(404, "not found")
}

fn static_file(dir: &std::path::Path, path: &str) -> Reply {
    match files::serve(dir, path) {
        Served::File(bytes, content_type) => {
            Reply::new(200, content_type, bytes).with("Cache-Control", "no-store")
        }
        Served::NotFound => not_found(),
        Served::Forbidden => Reply::text(403, "forbidden path"),
    }
}

/// Whether the request carries `Authorization: Bearer <token>`.
fn authorized(req: &Req, token: &str) -> bool {
    let Some(value) = req.header("Authorization") else {
        return false;
    };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or("");
    let given = parts.next().unwrap_or("").trim();
    scheme.eq_ignore_ascii_case("bearer") && given == token
}

/// The `POST /_dev/restart` query: `down_ms=N` (0..=60000, default 2000).
pub fn parse_down_ms(query: &str) -> Result<Duration, String> {
    let mut ms = DEFAULT_DOWN_MS;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "down_ms" {
            ms = value
                .parse()
                .ok()
                .filter(|ms| *ms <= MAX_DOWN_MS)
                .ok_or_else(|| format!("down_ms must be 0..={MAX_DOWN_MS}, got {value:?}"))?;
        }
    }
    Ok(Duration::from_millis(ms))
}

/// The media type of the request (lower case, without parameters).
fn media_type(req: &Req) -> Option<String> {
    req.header("Content-Type")
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
}

/// Whether the Content-Type is `application/sdp` (parameters allowed).
fn is_sdp(req: &Req) -> bool {
    media_type(req).as_deref() == Some("application/sdp")
}

/// `POST /whip`: answer an SDP offer and start a session.
fn post_whip(app: &App, req: &Req) -> Reply {
    let global = app.registry.faults();
    if global.fail_post != 0 {
        let reply = Reply::text(global.fail_post, "injected fault (fail_post)");
        return if global.fail_post == 503 {
            reply.with("Retry-After", "1")
        } else {
            reply
        };
    }
    if global.refuse_new {
        return Reply::text(503, "not accepting new sessions (refuse_new)")
            .with("Retry-After", "1");
    }
    if let Some(token) = &app.config.token {
        if !authorized(req, token) {
            return Reply::text(401, "missing or wrong bearer token")
                .with("WWW-Authenticate", "Bearer");
        }
    }
    if !is_sdp(req) {
        return Reply::text(415, "Content-Type must be application/sdp");
    }
    let faults = match parse_faults(&req.query) {
        Ok(f) => f,
        Err(reason) => return Reply::text(400, reason),
    };
    if let Some(delay) = faults.delay {
        thread::sleep(delay);
    }
    match faults.fault {
        Some(AnswerFault::Fail500) => return Reply::text(500, "injected fault"),
        Some(AnswerFault::Html) => {
            return Reply::new(500, "text/html; charset=utf-8", html_error_page())
        }
        _ => {}
    }
    let Ok(offer) = std::str::from_utf8(&req.body) else {
        return Reply::text(400, "the offer is not UTF-8 text");
    };
    let started = match session::start(&app.registry, offer, app.config.udp_ip, faults.delay_out_ms)
    {
        Ok(s) => s,
        Err(StartError::BadOffer(reason)) => return Reply::text(400, reason),
        Err(e @ StartError::Internal(_)) => {
            warn!("POST /whip: {e}");
            return Reply::text(500, e.to_string());
        }
    };
    // `garbage`, `empty`, `notsdp`, `nofingerprint`: a real session, a spoilt answer.
    let body = match faults.fault {
        Some(fault) => fault.answer_body(started.answer_sdp),
        None => started.answer_sdp,
    };
    Reply::new(201, "application/sdp", body)
        .with("Location", format!("/whip/sessions/{}", started.entry.id))
        .with("ETag", format!("\"{}\"", started.entry.etag()))
        .with("X-Session-ID", started.entry.id.clone())
}

/// Send a command to a session and wait until it has ended.
fn end_session(app: &App, id: &str, make: impl FnOnce(mpsc::Sender<()>) -> Command) -> Reply {
    let Some(entry) = app.registry.get(id) else {
        return Reply::text(404, "no such session");
    };
    let (done_tx, done_rx) = mpsc::channel();
    if entry.send(make(done_tx)).is_ok() {
        // Answered when the session ended, or dropped if it ended another way.
        let _ = done_rx.recv_timeout(END_WAIT);
    }
    Reply::text(200, "ended")
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

/// `POST /_dev/sessions/<id>/end`: the server ends the session.
fn server_end(app: &App, id: &str) -> Reply {
    end_session(app, id, |done| Command::End { done })
}

/// `POST /_dev/sessions/<id>/drop`: black-hole the session's transport.
fn drop_session(app: &App, id: &str) -> Reply {
    let Some(entry) = app.registry.get(id).filter(|e| !e.is_ended()) else {
        return Reply::text(404, "no such session");
    };
    let (done_tx, done_rx) = mpsc::channel();
    if entry.send(Command::Drop { done: done_tx }).is_err()
        || done_rx.recv_timeout(END_WAIT).is_err()
    {
        return Reply::text(404, "no such session");
    }
    Reply::text(200, "dropped")
}

/// `POST /_dev/sessions/<id>/delay?ms=N`: hold back every datagram the
/// session sends from now on by N ms (0..=5000; 0: off).
fn delay_session(app: &App, req: &Req, id: &str) -> Reply {
    let Some(entry) = app.registry.get(id).filter(|e| !e.is_ended()) else {
        return Reply::text(404, "no such session");
    };
    let ms = match delay::parse_delay_query(&req.query) {
        Ok(ms) => ms,
        Err(reason) => return Reply::text(400, reason),
    };
    let (done_tx, done_rx) = mpsc::channel();
    if entry.send(Command::Delay { ms, done: done_tx }).is_err()
        || done_rx.recv_timeout(END_WAIT).is_err()
    {
        return Reply::text(404, "no such session");
    }
    Reply::text(200, format!("delay {ms} ms"))
}

/// The media types `PATCH` takes, for `Accept-Patch`.
const ACCEPT_PATCH: &str = "application/trickle-ice-sdpfrag, application/sdp";

/// `PATCH /whip/sessions/<id>` (RFC 9725 §4.3): with a trickle-ICE fragment
/// carrying new `a=ice-ufrag`/`a=ice-pwd`, an ICE restart answered by the
/// server's fragment; with the current credentials, trickled candidates
/// (`204`). With `application/sdp`, a full re-offer answered by a full SDP
/// answer.
fn patch_session(app: &App, req: &Req, id: &str) -> Reply {
    let Some(entry) = app.registry.get(id).filter(|e| !e.is_ended()) else {
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
    let refuse = app.registry.faults().restart_status;
    if refuse != 0 && is_ice_restart(&request, entry.remote_ufrag().as_deref()) {
        app.registry.restart_refused();
        info!(
            "session {}: ICE restart refused with {refuse} (restart_status)",
            entry.id
        );
        return restart_refused(refuse);
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    let sent = entry.send(Command::Patch {
        request,
        reply: reply_tx,
    });
    if sent.is_err() {
        return Reply::text(404, "no such session");
    }
    match reply_rx.recv_timeout(PATCH_WAIT) {
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
        Err(mpsc::RecvTimeoutError::Disconnected) => Reply::text(404, "no such session"),
        Err(mpsc::RecvTimeoutError::Timeout) => Reply::text(504, "the session did not answer"),
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

/// The answer to an ICE restart refused by `restart_status`.
fn restart_refused(status: u16) -> Reply {
    let reason = match status {
        422 => "ICE restart not supported (trickle only)",
        405 => "PATCH not allowed on this resource",
        501 => "ICE restart not implemented",
        _ => "ICE restart refused",
    };
    let reply = Reply::text(status, format!("{reason} (restart_status={status})"));
    if status == 405 {
        reply.with("Allow", "POST, DELETE, OPTIONS")
    } else {
        reply
    }
}

fn faults_reply(faults: GlobalFaults) -> Reply {
    match serde_json::to_vec(&faults) {
        Ok(json) => Reply::new(200, "application/json", json).with("Cache-Control", "no-store"),
        Err(e) => Reply::text(500, format!("cannot serialize the faults: {e}")),
    }
}

/// `POST /_dev/faults?refuse_new=…&fail_post=…&hold_delete_ms=…&restart_status=…&delete_token=…`:
/// set the global switches.
fn set_faults(app: &App, req: &Req) -> Reply {
    let update = match parse_global_faults(&req.query) {
        Ok(v) => v,
        Err(reason) => return Reply::text(400, reason),
    };
    let faults = app.registry.set_faults(|f| update.apply(f));
    info!("global faults now {faults:?}");
    faults_reply(faults)
}

/// `POST /_dev/restart?down_ms=N`: `202`, then (see `main`) the listener
/// closes, the process re-executes itself and listens again after N ms.
fn restart(req: &Req) -> Reply {
    match parse_down_ms(&req.query) {
        Ok(down) => {
            let mut reply =
                Reply::text(202, format!("restarting: down for {} ms", down.as_millis()))
                    .with("Connection", "close");
            reply.restart = Some(down);
            reply
        }
        Err(reason) => Reply::text(400, reason),
    }
}

/// `GET /_dev/state`.
fn state(app: &App) -> Reply {
    match serde_json::to_vec(&app.registry.report()) {
        Ok(json) => Reply::new(200, "application/json", json).with("Cache-Control", "no-store"),
        Err(e) => Reply::text(500, format!("cannot serialize the state: {e}")),
    }
}

/// The request's headers as (name, value) pairs.
pub(crate) fn header_pairs(request: &tiny_http::Request) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn app(token: Option<&str>) -> App {
        App {
            registry: Arc::new(Registry::new(Duration::from_secs(300))),
            config: Config {
                token: token.map(str::to_string),
                www: None,
                pkg: None,
                udp_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            },
            control: control::Hub::new(),
            restart: mpsc::channel().0,
        }
    }

    fn req(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Req {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        Req {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn delay_route() {
        use crate::state::SessionEntry;
        let a = app(None);
        assert_eq!(
            route(&a, &req("POST", "/_dev/sessions/nope/delay?ms=10", &[], "")).status,
            404
        );
        let (tx, rx) = mpsc::channel();
        let e = Arc::new(SessionEntry::new(tx));
        a.registry.insert(e.clone());
        let url = format!("/_dev/sessions/{}/delay", e.id);
        for bad in ["", "?ms=5001", "?ms=x", "?ms=1&foo=2"] {
            let r = route(&a, &req("POST", &format!("{url}{bad}"), &[], ""));
            assert_eq!(r.status, 400, "{bad}");
        }
        assert_eq!(route(&a, &req("GET", &url, &[], "")).status, 404);
        // Nothing reached the session so far.
        assert!(rx.try_recv().is_err());
        let responder = thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2 {
                match rx.recv().expect("a command") {
                    Command::Delay { ms, done } => {
                        seen.push(ms);
                        done.send(()).expect("done");
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            seen
        });
        let r = route(&a, &req("POST", &format!("{url}?ms=150"), &[], ""));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"delay 150 ms"[..]));
        assert_eq!(
            route(&a, &req("POST", &format!("{url}?ms=0"), &[], "")).status,
            200
        );
        assert_eq!(responder.join().expect("responder"), [150, 0]);
        // A session that no longer answers (its thread is gone): 404.
        let r = route(&a, &req("POST", &format!("{url}?ms=1"), &[], ""));
        assert_eq!(r.status, 404);
        e.mark_ended(crate::state::EndedBy::Delete);
        let r = route(&a, &req("POST", &format!("{url}?ms=1"), &[], ""));
        assert_eq!(r.status, 404);
    }

    #[test]
    fn whip_errors() {
        let a = app(Some("s3cret"));
        let sdp = [("Content-Type", "application/sdp")];
        let r = route(&a, &req("POST", "/whip", &sdp, "v=0"));
        assert_eq!(r.status, 401);
        assert_eq!(header(&r, "WWW-Authenticate"), Some("Bearer"));
        let auth = [
            ("Content-Type", "text/plain"),
            ("Authorization", "Bearer s3cret"),
        ];
        assert_eq!(route(&a, &req("POST", "/whip", &auth, "v=0")).status, 415);
        let ok = [
            ("Content-Type", "application/sdp"),
            ("authorization", "Bearer s3cret"),
        ];
        assert_eq!(route(&a, &req("POST", "/whip", &ok, "hello")).status, 400);
        let r = route(&a, &req("POST", "/whip?fault=500", &ok, "hello"));
        assert_eq!((r.status, r.body.as_slice()), (500, &b"injected fault"[..]));
        assert_eq!(a.registry.report().sessions_created, 0);
    }

    #[test]
    fn other_routes() {
        let a = app(None);
        let r = route(&a, &req("OPTIONS", "/whip", &[], ""));
        assert_eq!(r.status, 204);
        assert_eq!(header(&r, "Access-Control-Max-Age"), Some("600"));
        assert_eq!(route(&a, &req("GET", "/_dev/health", &[], "")).status, 200);
        assert_eq!(
            route(&a, &req("DELETE", "/whip/sessions/nope", &[], "")).status,
            404
        );
        assert_eq!(
            route(&a, &req("POST", "/_dev/sessions/nope/end", &[], "")).status,
            404
        );
        assert_eq!(
            route(&a, &req("PATCH", "/whip/sessions/x", &[], "")).status,
            404
        );
        assert_eq!(
            route(&a, &req("POST", "/_dev/sessions/nope/drop", &[], "")).status,
            404
        );
        let r = route(&a, &req("OPTIONS", "/whip/sessions/x", &[], ""));
        assert!(header(&r, "Access-Control-Allow-Methods").is_some_and(|m| m.contains("PATCH")));
        assert!(header(&r, "Access-Control-Allow-Headers")
            .is_some_and(|h| h.contains("Authorization") && h.contains("If-Match")));
        assert!(header(&r, "Access-Control-Allow-Methods").is_some_and(|m| m.contains("DELETE")));
        let exposed = CORS_HEADERS
            .iter()
            .find(|(n, _)| *n == "Access-Control-Expose-Headers")
            .map(|(_, v)| *v)
            .expect("exposed headers");
        for name in ["Location", "ETag", "WWW-Authenticate", "Allow"] {
            assert!(exposed.contains(name), "{name} not exposed");
        }
        assert_eq!(route(&a, &req("GET", "/", &[], "")).status, 404);
        assert_eq!(route(&a, &req("GET", "/whip", &[], "")).status, 404);
        let r = route(&a, &req("GET", "/_dev/state", &[], ""));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["sessionsOpen"], 0);
        assert_eq!(v["faults"]["refuseNew"], false);
    }

    #[test]
    fn down_ms_query() {
        assert_eq!(parse_down_ms(""), Ok(Duration::from_millis(2000)));
        assert_eq!(parse_down_ms("down_ms=0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_down_ms("down_ms=1500"),
            Ok(Duration::from_millis(1500))
        );
        assert!(parse_down_ms("down_ms=60001").is_err());
        assert!(parse_down_ms("down_ms=-1").is_err());
    }

    #[test]
    fn global_faults_routes() {
        let a = app(Some("s3cret"));
        let sdp = [("Content-Type", "application/sdp")];
        let r = route(&a, &req("POST", "/_dev/faults?refuse_new=1", &[], ""));
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(
            (v["refuseNew"].clone(), v["failPost"].clone()),
            (true.into(), 0.into())
        );
        // Refused before the token is looked at; no session created.
        let r = route(&a, &req("POST", "/whip", &sdp, "v=0"));
        assert_eq!((r.status, header(&r, "Retry-After")), (503, Some("1")));
        // fail_post wins over refuse_new.
        route(&a, &req("POST", "/_dev/faults?fail_post=500", &[], ""));
        assert_eq!(route(&a, &req("POST", "/whip", &sdp, "v=0")).status, 500);
        let r = route(&a, &req("GET", "/_dev/faults", &[], ""));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["failPost"], 500);
        assert_eq!(
            route(&a, &req("POST", "/_dev/faults?fail_post=1", &[], "")).status,
            400
        );
        route(
            &a,
            &req("POST", "/_dev/faults?fail_post=0&refuse_new=0", &[], ""),
        );
        assert_eq!(route(&a, &req("POST", "/whip", &sdp, "v=0")).status, 401);
        assert_eq!(a.registry.report().sessions_created, 0);
        let r = route(&a, &req("GET", "/_dev/state", &[], ""));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["faults"]["failPost"], 0);

        // The new switches: reported, reset by their off values; typos refused.
        let r = route(
            &a,
            &req(
                "POST",
                "/_dev/faults?restart_status=422&delete_token=t0k",
                &[],
                "",
            ),
        );
        assert_eq!(r.status, 200);
        let v = json(&r);
        assert_eq!(
            (v["restartStatus"].clone(), v["deleteToken"].clone()),
            (422.into(), "t0k".into())
        );
        for typo in [
            "restart_status=200",
            "restartStatus=422",
            "delete_token=a%20b",
            "delete-token=x",
        ] {
            let r = route(&a, &req("POST", &format!("/_dev/faults?{typo}"), &[], ""));
            assert_eq!(r.status, 400, "{typo}");
        }
        let v = json(&route(&a, &req("POST", "/_dev/faults", &[], "")));
        assert_eq!(
            (v["restartStatus"].clone(), v["deleteToken"].clone()),
            (422.into(), "t0k".into())
        );
        route(
            &a,
            &req(
                "POST",
                "/_dev/faults?restart_status=0&delete_token=",
                &[],
                "",
            ),
        );
        let v = json(&route(&a, &req("GET", "/_dev/faults", &[], "")));
        assert_eq!(
            (v["restartStatus"].clone(), v["deleteToken"].clone()),
            (0.into(), "".into())
        );
        let v = json(&route(&a, &req("GET", "/_dev/state", &[], "")));
        assert_eq!(v["faults"]["restartStatus"], 0);
        assert_eq!(
            (
                v["restartsRefused"].clone(),
                v["deletesUnauthorized"].clone()
            ),
            (0.into(), 0.into())
        );
    }

    fn json(r: &Reply) -> serde_json::Value {
        serde_json::from_slice(&r.body).expect("json")
    }

    /// `POST /whip` with a real offer; returns the reply and the session id.
    fn post_offer(a: &App, url: &str) -> (Reply, String) {
        let offer = crate::session::tests::client_offer();
        let r = route(
            a,
            &req("POST", url, &[("Content-Type", "application/sdp")], &offer),
        );
        assert_eq!(r.status, 201, "{url}: {}", String::from_utf8_lossy(&r.body));
        let id = header(&r, "X-Session-ID")
            .expect("X-Session-ID")
            .to_string();
        assert_eq!(
            header(&r, "Location"),
            Some(format!("/whip/sessions/{id}").as_str())
        );
        assert!(header(&r, "ETag").is_some());
        (r, id)
    }

    /// The session's entry in `GET /_dev/state`, and the whole report.
    fn session_state(a: &App, id: &str) -> (serde_json::Value, serde_json::Value) {
        let v = json(&route(a, &req("GET", "/_dev/state", &[], "")));
        let s = v["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["id"] == id)
            .expect("the session is reported")
            .clone();
        (s, v)
    }

    #[test]
    fn answer_faults_route() {
        let a = app(None);
        let sdp = [("Content-Type", "application/sdp")];
        // html: a 500 error page, no session.
        let r = route(&a, &req("POST", "/whip?fault=html", &sdp, "v=0"));
        assert_eq!(r.status, 500);
        assert_eq!(header(&r, "Content-Type"), Some("text/html; charset=utf-8"));
        assert!(r.body.len() >= 4096);
        assert!(r.body.starts_with(b"<!DOCTYPE html>"));
        assert_eq!(a.registry.report().sessions_created, 0);
        let r = route(&a, &req("POST", "/whip?fault=bogus", &sdp, "v=0"));
        assert_eq!(r.status, 400);
        assert!(String::from_utf8_lossy(&r.body).contains("nofingerprint"));

        let (r, _) = post_offer(&a, "/whip");
        let normal = String::from_utf8(r.body).expect("text");
        assert!(normal.contains("a=fingerprint:"), "{normal}");

        // empty, notsdp, nofingerprint: a real session, a spoilt 201 body;
        // the Location can be DELETEd.
        for (fault, check) in [
            ("empty", (|b: &str| b.is_empty()) as fn(&str) -> bool),
            ("notsdp", |b| b == "hello, this is not SDP"),
            ("nofingerprint", |b| {
                !b.contains("fingerprint") && b.contains("a=ice-ufrag:") && b.starts_with("v=0")
            }),
            ("garbage", |b| b == "this is not an sdp answer"),
        ] {
            let (r, id) = post_offer(&a, &format!("/whip?fault={fault}"));
            let body = String::from_utf8(r.body.clone()).expect("text");
            assert!(check(&body), "{fault}: {body:?}");
            assert_eq!(header(&r, "Content-Type"), Some("application/sdp"));
            let (s, _) = session_state(&a, &id);
            assert_ne!(s["state"], "ended", "{fault}");
            let location = header(&r, "Location").expect("Location");
            assert_eq!(route(&a, &req("DELETE", location, &[], "")).status, 200);
            let (s, _) = session_state(&a, &id);
            assert_eq!(
                (s["state"].clone(), s["endedBy"].clone()),
                ("ended".into(), "delete".into()),
                "{fault}"
            );
            assert_eq!(s["deleteAuthorization"], serde_json::Value::Null);
        }
        assert_eq!(a.registry.report().sessions_created, 5);
    }

    #[test]
    fn delete_token_route() {
        let a = app(None);
        let (_, id) = post_offer(&a, "/whip");
        let url = format!("/whip/sessions/{id}");
        let v = json(&route(
            &a,
            &req("POST", "/_dev/faults?delete_token=t0k", &[], ""),
        ));
        assert_eq!(v["deleteToken"], "t0k");
        for auth in [
            &[][..],
            &[("Authorization", "Bearer wrong")],
            &[("Authorization", "t0k")],
        ] {
            let r = route(&a, &req("DELETE", &url, auth, ""));
            assert_eq!(
                (r.status, header(&r, "WWW-Authenticate")),
                (401, Some("Bearer")),
                "{auth:?}"
            );
        }
        // Checked before the session is looked up.
        assert_eq!(
            route(&a, &req("DELETE", "/whip/sessions/nope", &[], "")).status,
            401
        );
        let (s, v) = session_state(&a, &id);
        assert_ne!(s["state"], "ended");
        assert_eq!(s["deleteAuthorization"], serde_json::Value::Null);
        assert_eq!(
            (
                v["deletesUnauthorized"].clone(),
                v["deletesAnswered"].clone()
            ),
            (4.into(), 4.into())
        );

        let ok = [("authorization", "bearer t0k")];
        assert_eq!(route(&a, &req("DELETE", &url, &ok, "")).status, 200);
        let (s, v) = session_state(&a, &id);
        assert_eq!(
            (s["state"].clone(), s["endedBy"].clone()),
            ("ended".into(), "delete".into())
        );
        assert_eq!(s["deleteAuthorization"], "bearer t0k");
        assert_eq!(
            (
                v["deletesUnauthorized"].clone(),
                v["deletesAnswered"].clone()
            ),
            (4.into(), 5.into())
        );
        // A later DELETE of the ended session does not overwrite it.
        let other = [("Authorization", "Bearer t0k")];
        assert_eq!(route(&a, &req("DELETE", &url, &other, "")).status, 200);
        assert_eq!(
            session_state(&a, &id).0["deleteAuthorization"],
            "bearer t0k"
        );

        // Off again: any DELETE ends the session; its header is still recorded.
        route(&a, &req("POST", "/_dev/faults?delete_token=", &[], ""));
        assert_eq!(
            route(&a, &req("DELETE", "/whip/sessions/nope", &[], "")).status,
            404
        );
        let (_, id) = post_offer(&a, "/whip");
        let url = format!("/whip/sessions/{id}");
        let r = route(
            &a,
            &req("DELETE", &url, &[("Authorization", "Bearer other")], ""),
        );
        assert_eq!(r.status, 200);
        let (s, v) = session_state(&a, &id);
        assert_eq!(
            (s["state"].clone(), s["deleteAuthorization"].clone()),
            ("ended".into(), "Bearer other".into())
        );
        assert_eq!(v["deletesUnauthorized"], 4);
    }

    #[test]
    fn restart_status_route() {
        let a = app(None);
        let offer = crate::session::tests::client_offer();
        let sdp = [("Content-Type", "application/sdp")];
        let r = route(&a, &req("POST", "/whip", &sdp, &offer));
        assert_eq!(r.status, 201);
        let id = header(&r, "X-Session-ID").expect("id").to_string();
        let etag = header(&r, "ETag").expect("ETag").to_string();
        let url = format!("/whip/sessions/{id}");
        let frag = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "*")];
        let reoffer = offer
            .replace(sdp_attr(&offer, "ice-ufrag").expect("ufrag"), "Re0f")
            .replace(
                sdp_attr(&offer, "ice-pwd").expect("pwd"),
                "reofferreofferreoffer12",
            );

        let mut refused = 0;
        for status in [422, 405, 501, 409, 412, 400, 503] {
            let v = json(&route(
                &a,
                &req(
                    "POST",
                    &format!("/_dev/faults?restart_status={status}"),
                    &[],
                    "",
                ),
            ));
            assert_eq!(v["restartStatus"], status);
            let r = route(&a, &req("PATCH", &url, &frag, FRAG));
            assert_eq!(r.status, status);
            assert!(!r.body.is_empty());
            assert_eq!(
                header(&r, "Allow"),
                (status == 405).then_some("POST, DELETE, OPTIONS")
            );
            let r = route(&a, &req("PATCH", &url, &sdp, &reoffer));
            assert_eq!(r.status, status, "full re-offer");
            refused += 2;
            let (s, v) = session_state(&a, &id);
            assert_eq!(
                (s["state"].clone(), s["iceRestarts"].clone()),
                ("connecting".into(), 0.into())
            );
            assert_eq!(v["restartsRefused"], refused);
        }
        // Untouched: same ETag, and trickle (the current credentials) still works.
        assert_eq!(
            format!("\"{}\"", a.registry.get(&id).expect("kept").etag()),
            etag
        );
        let trickle = format!(
            "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n",
            sdp_attr(&offer, "ice-ufrag").expect("ufrag"),
            sdp_attr(&offer, "ice-pwd").expect("pwd"),
        );
        assert_eq!(route(&a, &req("PATCH", &url, &frag, &trickle)).status, 204);
        // Still 404 for an unknown session, 415 before the switch.
        assert_eq!(
            route(&a, &req("PATCH", "/whip/sessions/nope", &frag, FRAG)).status,
            404
        );
        assert_eq!(route(&a, &req("PATCH", &url, &[], FRAG)).status, 415);
        assert_eq!(
            json(&route(&a, &req("GET", "/_dev/state", &[], "")))["restartsRefused"],
            refused
        );

        // Off: the restart goes through.
        route(&a, &req("POST", "/_dev/faults?restart_status=0", &[], ""));
        let r = route(&a, &req("PATCH", &url, &frag, FRAG));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(session_state(&a, &id).0["iceRestarts"], 1);
        assert_eq!(route(&a, &req("DELETE", &url, &[], "")).status, 200);
    }

    #[test]
    fn restart_route() {
        let a = app(None);
        let r = route(&a, &req("POST", "/_dev/restart?down_ms=1500", &[], ""));
        assert_eq!(
            (r.status, r.restart),
            (202, Some(Duration::from_millis(1500)))
        );
        let r = route(&a, &req("POST", "/_dev/restart", &[], ""));
        assert_eq!(r.restart, Some(Duration::from_millis(2000)));
        let r = route(&a, &req("POST", "/_dev/restart?down_ms=70000", &[], ""));
        assert_eq!((r.status, r.restart), (400, None));
        assert_eq!(route(&a, &req("GET", "/_dev/restart", &[], "")).status, 404);
    }

    const FRAG: &str = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n";

    /// PATCH errors that come before the session's thread is asked.
    #[test]
    fn patch_errors() {
        use crate::state::SessionEntry;
        let a = app(None);
        let (tx, rx) = mpsc::channel();
        let e = Arc::new(SessionEntry::new(tx));
        a.registry.insert(e.clone());
        let url = format!("/whip/sessions/{}", e.id);
        let frag = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "*")];
        let text = [("Content-Type", "text/plain"), ("If-Match", "*")];
        assert_eq!(route(&a, &req("PATCH", &url, &text, FRAG)).status, 415);
        assert_eq!(route(&a, &req("PATCH", &url, &[], FRAG)).status, 415);
        let stale = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "\"stale\"")];
        let r = route(&a, &req("PATCH", &url, &stale, FRAG));
        assert_eq!(r.status, 412);
        assert_eq!(
            header(&r, "ETag"),
            Some(format!("\"{}\"", e.etag()).as_str())
        );
        assert_eq!(route(&a, &req("PATCH", &url, &frag, "garbage")).status, 400);
        assert_eq!(
            route(&a, &req("PATCH", &url, &frag, "a=ice-ufrag:abcd\r\n")).status,
            400
        );
        // Nothing reached the session so far.
        assert!(rx.try_recv().is_err());

        // The session's answer becomes the reply (a thread stands in for it).
        let responder = thread::spawn(move || {
            for _ in 0..2 {
                match rx.recv().expect("a command") {
                    Command::Patch { request, reply } => {
                        let outcome = match request {
                            PatchRequest::Fragment(f) if f.ufrag == "same" => {
                                PatchOutcome::Trickled
                            }
                            _ => PatchOutcome::Answered {
                                answer_sdp: "v=0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                                    a=mid:0\r\na=ice-ufrag:NEWU\r\na=ice-pwd:newpasswordnewpassword\r\n\
                                    a=candidate:f 1 udp 2130706175 127.0.0.1 4444 typ host\r\n"
                                    .into(),
                                etag: "fresh".into(),
                            },
                        };
                        reply.send(Ok(outcome)).expect("reply");
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        });
        let etag = format!("\"{}\"", e.etag());
        let current = [("Content-Type", SDPFRAG_TYPE), ("If-Match", etag.as_str())];
        let r = route(&a, &req("PATCH", &url, &current, FRAG));
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "Content-Type"), Some(SDPFRAG_TYPE));
        assert_eq!(header(&r, "ETag"), Some("\"fresh\""));
        let body = String::from_utf8(r.body).expect("text");
        assert!(
            body.starts_with("a=ice-lite\r\na=ice-ufrag:NEWU\r\n"),
            "{body}"
        );
        assert!(body.contains("a=candidate:f 1 udp"), "{body}");
        let trickle = "a=ice-ufrag:same\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n";
        assert_eq!(route(&a, &req("PATCH", &url, &frag, trickle)).status, 204);
        responder.join().expect("responder");

        // Ended: 404 for PATCH and drop.
        e.mark_ended(crate::state::EndedBy::Expired);
        assert_eq!(route(&a, &req("PATCH", &url, &frag, FRAG)).status, 404);
        let drop_url = format!("/_dev/sessions/{}/drop", e.id);
        assert_eq!(route(&a, &req("POST", &drop_url, &[], "")).status, 404);
    }
}
