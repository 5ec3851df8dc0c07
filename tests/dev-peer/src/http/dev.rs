//! The test-only endpoints: `GET /_dev/health`, `GET /_dev/state`, the
//! per-session switches `POST /_dev/sessions/<id>/{end,drop,delay}`, the
//! global fault switches `GET|POST /_dev/faults`, and `POST /_dev/restart`.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use log::info;
use tokio::sync::oneshot;

use super::{blocking, end_session, files, App, Reply, Req, Restart, SignalBody, END_WAIT};
use crate::delay;
use crate::faults::parse_global_faults;
use crate::state::Command;

/// Longest `POST /_dev/restart?down_ms=` accepted, and the default.
const MAX_DOWN_MS: u64 = 60_000;
const DEFAULT_DOWN_MS: u64 = 2_000;

/// The `/_dev` routes (but `/_dev/control…`, see [`super::control`]).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/_dev/health",
            get(|| async { Reply::text(200, "ok") }).head(files::fallback),
        )
        .route(
            "/_dev/state",
            get(|State(app): State<Arc<App>>| async move { Reply::report(&app.registry.report()) })
                .head(files::fallback),
        )
        .route(
            "/_dev/faults",
            get(|State(app): State<Arc<App>>| async move { Reply::report(&app.registry.faults()) })
                .head(files::fallback)
                .post(set_faults),
        )
        .route("/_dev/sessions/{id}/{action}", post(session_switch))
        .route("/_dev/restart", post(restart))
}

/// `POST /_dev/sessions/<id>/end|drop|delay`.
async fn session_switch(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
    req: Req,
) -> Reply {
    blocking(move || match action.as_str() {
        "end" => end_session(&app, &id, |done| Command::End { done }),
        "drop" => drop_session(&app, &id),
        "delay" => delay_session(&app, &req, &id),
        _ => super::not_found(),
    })
    .await
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

/// `POST /_dev/faults?refuse_new=…&fail_post=…&hold_delete_ms=…&restart_status=…&delete_token=…&unauthorized=…`:
/// set the global switches.
async fn set_faults(State(app): State<Arc<App>>, req: Req) -> Reply {
    let update = match parse_global_faults(&req.query) {
        Ok(v) => v,
        Err(reason) => return Reply::text(400, reason),
    };
    let faults = app.registry.set_faults(|f| update.apply(f));
    info!("global faults now {faults:?}");
    Reply::report(&faults)
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

/// `POST /_dev/restart?down_ms=N`: ask `main` to
/// restart, wait until the listener is closed, then answer `202`
/// (`Connection: close`); its body tells the caller when it is out, and the
/// process re-executes itself (see `main`), listening again after N ms.
async fn restart(State(app): State<Arc<App>>, req: Req) -> Response {
    let down = match parse_down_ms(&req.query) {
        Ok(down) => down,
        Err(reason) => return Reply::text(400, reason).into_response(),
    };
    let (closed_tx, closed_rx) = oneshot::channel();
    let (sent_tx, sent_rx) = mpsc::channel();
    let asked = app.restart.send(Restart {
        down,
        closed: closed_tx,
        sent: sent_rx,
    });
    if asked.is_ok() {
        let _ = tokio::time::timeout(END_WAIT, closed_rx).await;
    }
    let text = format!("restarting: down for {} ms", down.as_millis());
    let mut response = Response::new(Body::new(SignalBody::new(text, sent_tx)));
    *response.status_mut() = StatusCode::ACCEPTED;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
