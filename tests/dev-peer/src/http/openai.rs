//! OpenAI Realtime over WebRTC (the GA shape): `POST /v1/realtime/calls`
//! with `Content-Type: application/sdp` and `Authorization: Bearer <key>`
//! answers `201` with the SDP answer and `Location:
//! /v1/realtime/calls/<call_id>` (`rtc_` + 32 hex digits, also the session
//! id in `/_dev/state`). Events go over the client's `oai-events` data
//! channel (see [`crate::session`]). The protocol has no ICE restart and no
//! `DELETE`: every other method on these URLs answers `405`; a call ends
//! when the client closes its peer connection.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{any, post};
use axum::Router;

use super::offer::{self, Flavor};
use super::{blocking, is_sdp, App, Reply, Req};
use crate::session::SessionOptions;
use crate::state::{random_hex, Protocol};

/// The calls endpoint.
pub const CALLS_PATH: &str = "/v1/realtime/calls";

/// The OpenAI routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(CALLS_PATH, post(post_handler).fallback(method_not_allowed))
        .route("/v1/realtime/calls/{call_id}", any(method_not_allowed))
}

async fn post_handler(State(app): State<Arc<App>>, req: Req) -> Reply {
    blocking(move || post_call(&app, &req)).await
}

/// `405` in OpenAI's shape (no `DELETE`, no `PATCH` in this protocol).
async fn method_not_allowed(req: Req) -> Reply {
    let reply = Flavor::Openai.error(
        405,
        &format!("Invalid method for URL ({} {})", req.method, req.path),
    );
    if req.path == CALLS_PATH {
        reply.with("Allow", "POST")
    } else {
        reply
    }
}

/// `POST /v1/realtime/calls`: answer the offer, start the call.
fn post_call(app: &App, req: &Req) -> Reply {
    let flavor = Flavor::Openai;
    if let Err(reply) = offer::gate(app, req, flavor) {
        return reply;
    }
    if !is_sdp(req) {
        return flavor.error(415, "Content-Type must be application/sdp");
    }
    let faults = match offer::request_faults(req, flavor) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let options = SessionOptions {
        protocol: Protocol::Openai,
        id: Some(format!("rtc_{}", random_hex(16))),
        delay_out_ms: faults.delay_out_ms,
        ..SessionOptions::default()
    };
    let started = match offer::start(app, &req.body, options, flavor) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let body = offer::answer_body(&faults, started.answer_sdp);
    Reply::new(201, "application/sdp", body)
        .with("Location", format!("{CALLS_PATH}/{}", started.entry.id))
}
