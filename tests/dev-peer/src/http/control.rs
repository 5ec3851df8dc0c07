//! The control WebSocket's routes: `GET /control` (the upgrade, checked by
//! [`crate::control::handshake`] first, then axum's), `GET /_dev/control`
//! (the report) and `POST /_dev/control/<push|close|silence>` (switches).

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use log::info;

use super::{blocking, files, App, Reply, Req};
use crate::control;

/// The control routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/control", get(upgrade).head(files::fallback))
        .route(
            "/_dev/control",
            get(|State(app): State<Arc<App>>| async move { Reply::report(&app.control.report()) })
                .head(files::fallback),
        )
        .route("/_dev/control/{action}", post(switch))
}

/// `GET /control`: `101` and the connection as a task of its own; `426` or
/// `400` for a request that is no proper upgrade.
async fn upgrade(
    State(app): State<Arc<App>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    req: Req,
) -> Response {
    if let Err(reply) = control::handshake(&req) {
        return reply.into_response();
    }
    match ws {
        Ok(ws) => ws
            .on_upgrade(move |socket| async move {
                // Not inside `info!`, which skips its arguments when the level is off.
                let line = control::serve(&app.control, socket).await;
                info!("{line}");
            })
            .into_response(),
        // E.g. a request that did not come over a connection hyper can upgrade.
        Err(rejection) => Reply::text(
            rejection.status().as_u16(),
            format!("cannot upgrade: {}", rejection.body_text()),
        )
        .into_response(),
    }
}

/// `POST /_dev/control/<action>?session_id=X…`.
async fn switch(State(app): State<Arc<App>>, Path(action): Path<String>, req: Req) -> Reply {
    blocking(move || control::switch(&app.control, &req, &action)).await
}
