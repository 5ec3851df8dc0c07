//! Route tests: requests go through the real router (`oneshot`, in
//! process) and real str0m sessions; a few run the server on a loopback
//! port (the WebSocket upgrade, the restart handshake).

mod control;
mod dev;
mod openai;
mod pipecat;
mod trickle;
mod whip;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tower::ServiceExt;

use super::{router, App, Config, IceServer, Req, Restart};
use crate::control::Hub;
use crate::state::Registry;

/// The runtime every test request runs on.
pub fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// An app with these settings, and the receiving end of its restarts.
pub fn app_with(
    token: Option<&str>,
    ice_servers: Vec<IceServer>,
) -> (Arc<App>, UnboundedReceiver<Restart>) {
    let (restart, restarts) = tokio::sync::mpsc::unbounded_channel();
    let app = Arc::new(App {
        registry: Arc::new(Registry::new(Duration::from_secs(300))),
        config: Config {
            token: token.map(str::to_string),
            www: None,
            pkg: None,
            udp_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ice_servers,
        },
        control: Hub::new(),
        restart,
    });
    (app, restarts)
}

/// An app (restarts go nowhere: `/_dev/restart` answers at once).
pub fn app(token: Option<&str>) -> Arc<App> {
    app_with(token, Vec::new()).0
}

/// A request.
pub fn req(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Req {
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

/// A response as the test sees it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Send a request through the router (in process) and read the whole response.
pub fn route(app: &Arc<App>, r: &Req) -> Resp {
    let uri = if r.query.is_empty() {
        r.path.clone()
    } else {
        format!("{}?{}", r.path, r.query)
    };
    let mut builder = axum::http::Request::builder()
        .method(r.method.as_str())
        .uri(uri);
    for (n, v) in &r.headers {
        builder = builder.header(n.as_str(), v.as_str());
    }
    let request = builder.body(Body::from(r.body.clone())).expect("a request");
    let router = router(app.clone());
    rt().block_on(async move {
        let response = router.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("a body").to_bytes().to_vec();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    })
}

/// The first value of a header.
pub fn header<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every value of a header, in order.
pub fn headers<'a>(r: &'a Resp, name: &str) -> Vec<&'a str> {
    r.headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The body as JSON.
pub fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_slice(&r.body).expect("json")
}

/// The body as text.
pub fn text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// `POST /whip` with a real offer; returns the reply and the session id.
pub fn post_offer(a: &Arc<App>, url: &str) -> (Resp, String) {
    let offer = crate::session::tests::client_offer();
    let r = route(
        a,
        &req("POST", url, &[("Content-Type", "application/sdp")], &offer),
    );
    assert_eq!(r.status, 201, "{url}: {}", text(&r));
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
pub fn session_state(a: &Arc<App>, id: &str) -> (serde_json::Value, serde_json::Value) {
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

/// Poll `cond` every 10 ms for up to `ms`; whether it held.
pub fn eventually(ms: u64, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 10 {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// The app served on a loopback port (as `main` does); dropping the
/// returned sender stops accepting.
pub fn serve(app: &Arc<App>) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _entered = rt().enter();
    let stop = super::spawn(listener, app.clone()).expect("serving");
    (addr, stop)
}

/// A trickle-ICE fragment with new credentials.
pub const FRAG: &str = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n";

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
    // Any path, even one no route has; only the preflight's headers
    // (`/whip` adds its own, see `trickle::options_whip`).
    for path in [
        "/v1/realtime/calls",
        "/api/offer",
        "/nowhere",
        "/whip/sessions/x",
    ] {
        let r = route(&a, &req("OPTIONS", path, &[], ""));
        assert_eq!((r.status, header(&r, "Allow")), (204, None), "{path}");
        assert_eq!(r.headers.len(), 5, "{path}: {:?}", r.headers);
    }
    // CORS headers on every response, errors included.
    for r in [
        route(&a, &req("GET", "/_dev/health", &[], "")),
        route(&a, &req("GET", "/nowhere", &[], "")),
        route(&a, &req("POST", "/whip", &[], "")),
        route(&a, &req("OPTIONS", "/x", &[], "")),
    ] {
        assert_eq!(header(&r, "Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(
            header(&r, "Access-Control-Expose-Headers"),
            Some(
                "Location, ETag, Link, X-Session-ID, WWW-Authenticate, Allow, Accept-Patch, Accept-Post"
            )
        );
    }
    assert_eq!(route(&a, &req("GET", "/", &[], "")).status, 404);
    assert_eq!(route(&a, &req("GET", "/whip", &[], "")).status, 404);
    assert_eq!(route(&a, &req("PUT", "/whip", &[], "")).status, 404);
    assert_eq!(route(&a, &req("POST", "/nowhere", &[], "")).status, 404);
    let r = route(&a, &req("GET", "/_dev/state", &[], ""));
    assert_eq!(header(&r, "Cache-Control"), Some("no-store"));
    let v = json(&r);
    assert_eq!(v["sessionsOpen"], 0);
    assert_eq!(v["faults"]["refuseNew"], false);
    assert_eq!(v["pipecatSessionsStarted"], 0);
}

#[test]
fn body_limit() {
    let a = app(None);
    let big = "x".repeat(super::MAX_BODY + 1);
    let sdp = [("Content-Type", "application/sdp")];
    let r = route(&a, &req("POST", "/whip", &sdp, &big));
    assert_eq!((r.status, text(&r).as_str()), (413, "body too large"));
    // At the limit: read (and refused as an offer).
    let r = route(&a, &req("POST", "/whip", &sdp, &big[1..]));
    assert_eq!(r.status, 400);
}

#[test]
fn static_files() {
    let dir = std::env::temp_dir().join(format!("dev-peer-www-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).expect("dirs");
    std::fs::write(dir.join("index.html"), "<p>hi</p>").expect("index");
    std::fs::write(dir.join("whip"), "a file named whip").expect("whip");
    std::fs::write(dir.join("pkg/voicelink.js"), "export {}").expect("js");
    let (a, _) = app_with(None, Vec::new());
    let mut a = Arc::try_unwrap(a).expect("unshared");
    a.config.www = Some(dir.clone());
    a.config.pkg = Some(dir.join("pkg"));
    let a = Arc::new(a);
    let r = route(&a, &req("GET", "/", &[], ""));
    assert_eq!((r.status, text(&r).as_str()), (200, "<p>hi</p>"));
    assert_eq!(header(&r, "Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&r, "Cache-Control"), Some("no-store"));
    let r = route(&a, &req("GET", "/pkg/voicelink.js", &[], ""));
    assert_eq!(
        (r.status, header(&r, "Content-Type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    // A route's path with a method it does not take: a static file.
    assert_eq!(
        text(&route(&a, &req("GET", "/whip", &[], ""))),
        "a file named whip"
    );
    assert_eq!(route(&a, &req("HEAD", "/", &[], "")).status, 200);
    assert_eq!(
        route(&a, &req("GET", "/pkg/../index.html", &[], "")).status,
        403
    );
    assert_eq!(route(&a, &req("GET", "/missing.js", &[], "")).status, 404);
    assert_eq!(route(&a, &req("POST", "/index.html", &[], "")).status, 404);
    let _ = std::fs::remove_dir_all(dir);
}
