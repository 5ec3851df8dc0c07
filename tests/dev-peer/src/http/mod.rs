//! The HTTP front: axum on hyper (HTTP/1.1) and tokio.
//!
//! One module per protocol or concern, each adding its routes to the
//! [`router`]: [`whip`] (WHIP, RFC 9725), [`openai`] (OpenAI Realtime over
//! WebRTC), [`pipecat`] (Pipecat SmallWebRTC), [`offer`] (what the three
//! offer endpoints share: global fault switches, bearer tokens, per-request
//! faults, error bodies), [`dev`] (the `/_dev/*` test endpoints, restart),
//! [`control`] (the control WebSocket `/control` and its `/_dev/control`
//! switches), [`files`] (static files, and every request no route takes).
//!
//! Handlers take a plain [`Req`] (read by its extractor, body included) and
//! most return a plain [`Reply`]. Sessions run on their own threads (see
//! [`crate::session`]) and are driven through blocking channels, so those
//! handlers run on tokio's blocking pool ([`blocking`]); a `?delay_ms=`
//! answer holds up nothing else. Every response gets the CORS headers, and
//! every `OPTIONS` is answered before routing ([`cors`]).

mod control;
mod dev;
pub mod files;
mod offer;
mod openai;
mod pipecat;
mod whip;

#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use log::{info, warn};
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::control::Hub;
use crate::state::{Command, Registry};

pub use whip::IceServer;

/// Largest request body read (an SDP offer is a few KB).
const MAX_BODY: usize = 1024 * 1024;

/// How long DELETE and the server end wait for the session to finish.
const END_WAIT: Duration = Duration::from_secs(3);

/// What the front needs besides the registry.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bearer token required on the offer endpoints, if any.
    pub token: Option<String>,
    /// Directory served at `/`.
    pub www: Option<PathBuf>,
    /// Directory served at `/pkg/`.
    pub pkg: Option<PathBuf>,
    /// Address session UDP sockets bind to.
    pub udp_ip: IpAddr,
    /// ICE servers advertised on the `201` of `POST /whip` (`Link`).
    pub ice_servers: Vec<IceServer>,
}

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct App {
    /// Sessions by id, and the global fault switches.
    pub registry: Arc<Registry>,
    /// Settings.
    pub config: Config,
    /// The control WebSocket connections.
    pub control: Hub,
    /// Where `POST /_dev/restart` asks `main` to stop serving and restart.
    pub restart: tokio_mpsc::UnboundedSender<Restart>,
}

/// A restart asked for by `POST /_dev/restart`. The handshake: the handler
/// sends this and waits for `closed` (the listener is closed, so a client
/// that has the `202` finds new connections refused); it then answers the
/// `202`, whose body signals `sent` once hyper has taken all of it, and the
/// process re-executes itself.
#[derive(Debug)]
pub struct Restart {
    /// How long to stay down.
    pub down: Duration,
    /// To be signalled once the listener is closed.
    pub closed: oneshot::Sender<()>,
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
    /// Header names and values.
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

impl<S: Send + Sync> FromRequest<S> for Req {
    type Rejection = Reply;

    /// Method, path, query, headers; for POST and PATCH the body, up to
    /// [`MAX_BODY`] (`413` beyond, `400` if it cannot be read).
    async fn from_request(request: Request, _state: &S) -> Result<Req, Reply> {
        let (parts, body) = request.into_parts();
        let mut req = Req {
            method: parts.method.as_str().to_ascii_uppercase(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_string(), value)
                })
                .collect(),
            body: Vec::new(),
        };
        if req.method == "POST" || req.method == "PATCH" {
            match Limited::new(body, MAX_BODY).collect().await {
                Ok(collected) => req.body = collected.to_bytes().to_vec(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(Reply::text(413, "body too large"))
                }
                Err(e) => return Err(Reply::text(400, format!("cannot read body: {e}"))),
            }
        }
        Ok(req)
    }
}

/// A response, before the CORS headers are added.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers (Content-Type included; a name may repeat).
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

    /// A JSON reply.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Reply {
        match serde_json::to_vec(value) {
            Ok(json) => Reply::new(status, "application/json", json),
            Err(e) => Reply::text(500, format!("cannot serialize the answer: {e}")),
        }
    }

    /// A report (`/_dev/state` and the like): JSON, never cached.
    pub fn report(value: &impl serde::Serialize) -> Reply {
        Reply::json(200, value).with("Cache-Control", "no-store")
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

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                (Ok(n), Ok(v)) => {
                    headers.append(n, v);
                }
                _ => warn!("dropping bad header {name}: {value:?}"),
            }
        }
        response
    }
}

/// Headers on every response.
const CORS_HEADERS: [(&str, &str); 2] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-expose-headers",
        "Location, ETag, Link, X-Session-ID, WWW-Authenticate, Allow, Accept-Patch, Accept-Post",
    ),
];

/// The answer to every `OPTIONS` (a CORS preflight), whatever the path.
fn preflight() -> Reply {
    Reply::empty(204)
        .with(
            "Access-Control-Allow-Methods",
            "GET, POST, PATCH, DELETE, OPTIONS",
        )
        .with(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, If-Match",
        )
        .with("Access-Control-Max-Age", "600")
}

/// Middleware: answer `OPTIONS` before routing (`OPTIONS /whip` with the
/// WHIP endpoint's headers too); add the CORS headers to every response.
async fn cors(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        if request.uri().path() == "/whip" {
            let cors_preflight = request
                .headers()
                .contains_key("access-control-request-method");
            whip::options(&app, cors_preflight).into_response()
        } else {
            preflight().into_response()
        }
    } else {
        next.run(request).await
    };
    for (name, value) in CORS_HEADERS {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Middleware: one log line per request (the polled reports at debug level).
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let line = format!(
        "{method} {uri} -> {} ({} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    let path = uri.path();
    if path.starts_with("/_dev/state")
        || path.starts_with("/_dev/health")
        || path == "/_dev/control"
    {
        log::debug!("{line}");
    } else {
        info!("{line}");
    }
    response
}

/// Every route, the static files for the rest, behind the CORS and log
/// middleware. The middleware wraps the whole router (it is the outer
/// router's only service), so it sees every request before routing: an
/// `OPTIONS` is answered whatever the path, and no route adds to it.
pub fn router(app: Arc<App>) -> Router {
    let routes = Router::new()
        .merge(whip::routes())
        .merge(openai::routes())
        .merge(pipecat::routes())
        .merge(dev::routes())
        .merge(control::routes())
        // A path no route has, or a method its route does not take: static
        // files for GET and HEAD, else 404.
        .fallback(files::fallback)
        .method_not_allowed_fallback(files::fallback)
        .with_state(app.clone());
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn_with_state(app, cors))
        .layer(middleware::from_fn(log_request))
}

/// Serve `listener` on a task of the current runtime, until the returned
/// sender is used (or dropped): then the accept loop ends and drops the
/// listener (new connections are refused); connections already open are
/// served on (the `202` of a restart among them).
pub fn spawn(
    listener: std::net::TcpListener,
    app: Arc<App>,
) -> std::io::Result<oneshot::Sender<()>> {
    use axum::serve::ListenerExt as _;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            log::debug!("TCP_NODELAY: {e}");
        }
    });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = axum::serve(listener, router(app)).with_graceful_shutdown(async {
        let _ = stop_rx.await;
    });
    tokio::spawn(async move {
        if let Err(e) = server.await {
            warn!("HTTP server failed: {e}");
        }
    });
    Ok(stop_tx)
}

/// Run a blocking handler on tokio's blocking pool.
pub async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Reply::text(500, format!("the handler failed: {e}")))
}

/// A body that tells, once dropped (hyper has taken all of it), that the
/// response is out: the `202` of `POST /_dev/restart`.
pub struct SignalBody {
    data: Option<Bytes>,
    sent: Option<mpsc::Sender<()>>,
}

impl SignalBody {
    /// `data`, then a signal on `sent`.
    pub fn new(data: impl Into<Bytes>, sent: mpsc::Sender<()>) -> SignalBody {
        SignalBody {
            data: Some(data.into()),
            sent: Some(sent),
        }
    }
}

impl http_body::Body for SignalBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.data.take().map(|d| Ok(http_body::Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

impl Drop for SignalBody {
    fn drop(&mut self) {
        if let Some(sent) = self.sent.take() {
            let _ = sent.send(());
        }
    }
}

/// `404 not found`.
pub fn not_found() -> Reply {
    Reply::text(404, "not found")
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer(req: &Req) -> Option<&str> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Whether the request carries `Authorization: Bearer <token>`.
pub fn authorized(req: &Req, token: &str) -> bool {
    bearer(req) == Some(token)
}

/// The media type of the request (lower case, without parameters).
pub fn media_type(req: &Req) -> Option<String> {
    req.header("Content-Type")
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
}

/// Whether the Content-Type is `application/sdp` (parameters allowed).
pub fn is_sdp(req: &Req) -> bool {
    media_type(req).as_deref() == Some("application/sdp")
}

/// Send a command to a live session and wait until it has ended; `404` for
/// an unknown one (an ended one is answered `200` at once).
pub fn end_session(app: &App, id: &str, make: impl FnOnce(mpsc::Sender<()>) -> Command) -> Reply {
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
