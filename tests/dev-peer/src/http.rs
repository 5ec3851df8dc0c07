//! The HTTP front: WHIP endpoints, the `/_dev/*` test endpoints, static files.
//!
//! Each request is handled on its own thread, so a `?delay_ms=` answer does
//! not hold up the others. Routing and handlers work on a plain [`Req`] and
//! return a plain [`Reply`]; only [`run`] and [`handle`] touch tiny_http.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::{info, warn};
use tiny_http::{Header, Method, Response, Server, StatusCode};

use crate::files::{self, Served};
use crate::session::{self, StartError};
use crate::state::{Command, Registry};

/// Largest request body read (an SDP offer is a few KB).
const MAX_BODY: u64 = 1024 * 1024;

/// Longest `?delay_ms=` accepted.
const MAX_DELAY_MS: u64 = 60_000;

/// How long DELETE and the server end wait for the session to finish.
const END_WAIT: Duration = Duration::from_secs(3);

/// Body of the `?fault=garbage` answer.
const GARBAGE_ANSWER: &str = "this is not an sdp answer";

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
    /// Sessions by id.
    pub registry: Arc<Registry>,
    /// Settings.
    pub config: Config,
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
}

impl Reply {
    /// A reply with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
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
        "Location, ETag, Link, X-Session-ID",
    ),
];

/// Accept requests forever, each on its own thread.
pub fn run(server: Server, app: Arc<App>) {
    for request in server.incoming_requests() {
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
    let headers = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut req = Req {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };

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
    if req.path.starts_with("/_dev/state") || req.path.starts_with("/_dev/health") {
        log::debug!("{line}");
    } else {
        info!("{line}");
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
        ("DELETE", ["whip", "sessions", id]) => delete_session(app, id),
        ("PATCH", ["whip", "sessions", _id]) => patch_session(app, req),
        ("GET", ["_dev", "health"]) => Reply::text(200, "ok"),
        ("GET", ["_dev", "state"]) => state(app),
        ("POST", ["_dev", "sessions", id, "end"]) => server_end(app, id),
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

/// The `POST /whip` query: fault switches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Answer `500 injected fault`, create nothing.
    pub fail_500: bool,
    /// Answer 201 with a body that is not SDP.
    pub garbage: bool,
}

/// Parse `fault=500|garbage` and `delay_ms=N` (other parameters are ignored).
pub fn parse_faults(query: &str) -> Result<Faults, String> {
    let mut faults = Faults::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "fault" => match value {
                "500" => faults.fail_500 = true,
                "garbage" => faults.garbage = true,
                other => return Err(format!("unknown fault {other:?} (500 or garbage)")),
            },
            "delay_ms" => {
                let ms: u64 = value
                    .parse()
                    .ok()
                    .filter(|ms| *ms <= MAX_DELAY_MS)
                    .ok_or_else(|| format!("delay_ms must be 0..={MAX_DELAY_MS}, got {value:?}"))?;
                faults.delay = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
    }
    Ok(faults)
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

/// Whether the Content-Type is `application/sdp` (parameters allowed).
fn is_sdp(req: &Req) -> bool {
    req.header("Content-Type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
}

/// `POST /whip`: answer an SDP offer and start a session.
fn post_whip(app: &App, req: &Req) -> Reply {
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
    if faults.fail_500 {
        return Reply::text(500, "injected fault");
    }
    let Ok(offer) = std::str::from_utf8(&req.body) else {
        return Reply::text(400, "the offer is not UTF-8 text");
    };
    let started = match session::start(&app.registry, offer, app.config.udp_ip) {
        Ok(s) => s,
        Err(StartError::BadOffer(reason)) => return Reply::text(400, reason),
        Err(e @ StartError::Internal(_)) => {
            warn!("POST /whip: {e}");
            return Reply::text(500, e.to_string());
        }
    };
    let body = if faults.garbage {
        GARBAGE_ANSWER.to_string()
    } else {
        started.answer_sdp
    };
    Reply::new(201, "application/sdp", body)
        .with("Location", format!("/whip/sessions/{}", started.entry.id))
        .with("ETag", format!("\"{}\"", started.entry.etag))
        .with("X-Session-ID", started.entry.id.clone())
}

/// Send a command to a session and wait until it has ended.
fn end_session(app: &App, id: &str, make: fn(mpsc::Sender<()>) -> Command) -> Reply {
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
fn delete_session(app: &App, id: &str) -> Reply {
    end_session(app, id, |done| Command::Delete { done })
}

/// `POST /_dev/sessions/<id>/end`: the server ends the session.
fn server_end(app: &App, id: &str) -> Reply {
    end_session(app, id, |done| Command::End { done })
}

/// `PATCH /whip/sessions/<id>`: ICE restart is not supported yet.
fn patch_session(_app: &App, _req: &Req) -> Reply {
    Reply::text(405, "PATCH (ICE restart) is not supported yet").with("Allow", "DELETE, OPTIONS")
}

/// `GET /_dev/state`.
fn state(app: &App) -> Reply {
    match serde_json::to_vec(&app.registry.report()) {
        Ok(json) => Reply::new(200, "application/json", json).with("Cache-Control", "no-store"),
        Err(e) => Reply::text(500, format!("cannot serialize the state: {e}")),
    }
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
    fn faults() {
        assert_eq!(parse_faults(""), Ok(Faults::default()));
        let f = parse_faults("delay_ms=200&fault=500").expect("parses");
        assert_eq!(f.delay, Some(Duration::from_millis(200)));
        assert!(f.fail_500 && !f.garbage);
        assert!(parse_faults("fault=garbage").expect("parses").garbage);
        assert!(parse_faults("delay_ms=60001").is_err());
        assert!(parse_faults("delay_ms=x").is_err());
        assert!(parse_faults("fault=nope").is_err());
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
            405
        );
        assert_eq!(route(&a, &req("GET", "/", &[], "")).status, 404);
        assert_eq!(route(&a, &req("GET", "/whip", &[], "")).status, 404);
        let r = route(&a, &req("GET", "/_dev/state", &[], ""));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["sessionsOpen"], 0);
    }
}
