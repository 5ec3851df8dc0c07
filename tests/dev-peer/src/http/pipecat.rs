//! Pipecat SmallWebRTC: `POST /api/offer` (JSON offer → JSON answer with a
//! `pc_id`) and `PATCH /api/offer` (trickled candidates).
//!
//! Each peer connection is a session; its `pc_id` is its session id. A
//! server session (Pipecat's bot pipeline) spans the peer connections of a
//! client's `restart_pc`s, shown as `pipecatSession` (the id of its first
//! peer connection) on each of them.
//!
//! - no `pc_id`, or one the server does not know (never, or no more: a peer
//!   connection the client closed is forgotten, as Pipecat does): a new
//!   server session with a new peer connection;
//! - a known `pc_id` with `restart_pc: true`: a new peer connection (new
//!   `pc_id`) for the same server session; the old one is closed by the
//!   server once the new one connects (ended `replaced`);
//! - a known `pc_id` without `restart_pc`: a renegotiation of that peer
//!   connection, answered under the same `pc_id`.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use log::info;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::offer::{self, Flavor};
use super::whip::ask_patch;
use super::{blocking, App, Reply, Req};
use crate::session::SessionOptions;
use crate::state::{Command, PatchOutcome, PatchRequest, Protocol, SessionEntry};

/// How long a `PATCH` waits for the session to take the candidates.
const TRICKLE_WAIT: Duration = Duration::from_secs(3);

/// The body of `POST /api/offer`.
#[derive(Debug, Deserialize)]
pub struct OfferRequest {
    /// The SDP offer.
    pub sdp: String,
    /// Must be `"offer"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The peer connection this offer renegotiates or replaces.
    #[serde(default)]
    pub pc_id: Option<String>,
    /// Replace the peer connection `pc_id` by a new one.
    #[serde(default)]
    pub restart_pc: Option<bool>,
    /// The app's data (also accepted as `requestData`).
    #[serde(default, alias = "requestData")]
    pub request_data: Option<Value>,
}

/// The answer to `POST /api/offer`.
#[derive(Debug, Serialize)]
struct OfferAnswer {
    sdp: String,
    #[serde(rename = "type")]
    kind: &'static str,
    pc_id: String,
}

/// One trickled candidate (RTCIceCandidate's fields, snake case). Its
/// `sdp_mid` and `sdp_mline_index` are accepted and not needed: every media
/// section is bundled on the one transport.
#[derive(Debug, Deserialize)]
pub struct TrickledCandidate {
    /// `candidate:…` (empty: end of candidates).
    pub candidate: String,
}

/// The body of `PATCH /api/offer`.
#[derive(Debug, Deserialize)]
pub struct PatchBody {
    /// The peer connection.
    pub pc_id: String,
    /// Its new remote candidates.
    pub candidates: Vec<TrickledCandidate>,
}

/// The Pipecat routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/api/offer", post(post_handler).patch(patch_handler))
}

async fn post_handler(State(app): State<Arc<App>>, req: Req) -> Reply {
    blocking(move || post_offer(&app, &req)).await
}

async fn patch_handler(State(app): State<Arc<App>>, req: Req) -> Reply {
    blocking(move || patch_offer(&app, &req)).await
}

/// Parse a JSON body; FastAPI answers a body it cannot validate with `422`.
fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| Flavor::Pipecat.error(422, &format!("invalid request body: {e}")))
}

/// A live Pipecat peer connection by `pc_id`.
fn known_pc(app: &App, pc_id: Option<&str>) -> Option<Arc<SessionEntry>> {
    app.registry
        .get(pc_id?)
        .filter(|e| e.protocol == Protocol::Pipecat && !e.is_ended())
}

/// `POST /api/offer`.
fn post_offer(app: &App, req: &Req) -> Reply {
    let flavor = Flavor::Pipecat;
    if let Err(reply) = offer::gate(app, req, flavor) {
        return reply;
    }
    let body: OfferRequest = match parse_body(&req.body) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    if body.kind != "offer" {
        return flavor.error(400, &format!("type must be \"offer\", got {:?}", body.kind));
    }
    let faults = match offer::request_faults(req, flavor) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let known = known_pc(app, body.pc_id.as_deref());
    let restart = body.restart_pc.unwrap_or(false);

    if let (Some(entry), false) = (&known, restart) {
        // A renegotiation of the same peer connection.
        return match ask_patch(entry, PatchRequest::Offer(body.sdp)) {
            Ok(Ok(PatchOutcome::Answered { answer_sdp, .. })) => {
                if body.request_data.is_some() {
                    entry.update(|r| r.request_data = body.request_data);
                }
                answer(offer::answer_body(&faults, answer_sdp), &entry.id)
            }
            Ok(Ok(PatchOutcome::Trickled)) => flavor.error(500, "no answer"),
            Ok(Err(reason)) => flavor.error(400, &reason),
            Err(reply) => flavor.error(reply.status, &String::from_utf8_lossy(&reply.body)),
        };
    }

    let (pipecat_session, replaces) = match known {
        Some(old) => {
            let session = old.snapshot().pipecat_session;
            (session, Some(old))
        }
        None => {
            if let Some(unknown) = &body.pc_id {
                info!("Pipecat offer names unknown pc_id {unknown:?}: a new server session");
            }
            (None, None)
        }
    };
    let new_session = pipecat_session.is_none();
    let options = SessionOptions {
        protocol: Protocol::Pipecat,
        delay_out_ms: faults.delay_out_ms,
        pipecat_session,
        request_data: body.request_data,
        replaces: replaces.clone(),
        ..SessionOptions::default()
    };
    let started = match offer::start(app, body.sdp.as_bytes(), options, flavor) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    if new_session {
        app.registry.pipecat_session_started();
    }
    if let Some(old) = replaces {
        info!(
            "Pipecat restart_pc: peer connection {} replaces {} (server session {})",
            started.entry.id,
            old.id,
            started.entry.snapshot().pipecat_session.unwrap_or_default()
        );
    }
    answer(
        offer::answer_body(&faults, started.answer_sdp),
        &started.entry.id,
    )
}

/// `200 {"sdp","type":"answer","pc_id"}`.
fn answer(sdp: String, pc_id: &str) -> Reply {
    Reply::json(
        200,
        &OfferAnswer {
            sdp,
            kind: "answer",
            pc_id: pc_id.to_string(),
        },
    )
}

/// `PATCH /api/offer`: trickled candidates for a peer connection.
fn patch_offer(app: &App, req: &Req) -> Reply {
    let flavor = Flavor::Pipecat;
    let body: PatchBody = match parse_body(&req.body) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let Some(entry) = known_pc(app, Some(&body.pc_id)) else {
        return flavor.error(404, "Peer connection not found");
    };
    if let Some(status) = app.registry.faults().trickle.refusal() {
        entry.update(|r| r.trickle_refused += 1);
        info!(
            "Pipecat pc {}: trickle PATCH refused with {status} (trickle)",
            entry.id
        );
        return flavor.error(status, &format!("trickle ICE refused (trickle={status})"));
    }
    let candidates = body.candidates.into_iter().map(|c| c.candidate).collect();
    let (reply_tx, reply_rx) = mpsc::channel();
    let cmd = Command::AddCandidates {
        candidates,
        reply: reply_tx,
    };
    if entry.send(cmd).is_err() {
        return flavor.error(404, "Peer connection not found");
    }
    match reply_rx.recv_timeout(TRICKLE_WAIT) {
        Ok(_) => Reply::json(200, &json!({ "status": "success" })),
        Err(mpsc::RecvTimeoutError::Disconnected) => flavor.error(404, "Peer connection not found"),
        Err(mpsc::RecvTimeoutError::Timeout) => flavor.error(504, "the session did not answer"),
    }
}
