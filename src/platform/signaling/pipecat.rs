//! Pipecat SmallWebRTC: `POST url` with JSON `{ sdp, type: "offer", pc_id, restart_pc,
//! request_data }` → `{ sdp, type, pc_id }`. The latest `pc_id` is the session id. Reconnect
//! keeps the server session: a new peer connection and data channel, offered with the current
//! `pc_id` and `restart_pc: true` BEFORE the old peer connection is closed (closing first makes
//! the server forget the `pc_id` and silently start a second session); the answer carries a new
//! `pc_id` for the same session. Hang-up is closing the peer connection.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

use super::{answer_error, post, unusable_answer, Answer};
use crate::core::trickle::{Batch, Sent};
use crate::core::{ErrorCode, LinkError, Session};

/// `POST`s the offer; `restart_of`: the `pc_id` whose server session the new peer connection
/// joins (`restart_pc: true`), `None` for a new session. `request_data` (the `requestData`
/// option) goes as `request_data` when not `undefined`.
/// Errors: `signaling-network`, `unauthorized` (401/403), `signaling-http`, `signaling-answer`
/// (not JSON, or no `sdp` string).
pub async fn post_offer(
    url: &str,
    token: Option<&str>,
    offer: &str,
    restart_of: Option<&str>,
    request_data: &JsValue,
    signal: &AbortSignal,
) -> Result<Answer, LinkError> {
    let body = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&body, &k.into(), v);
    };
    set("sdp", &offer.into());
    set("type", &"offer".into());
    set("pc_id", &restart_of.map_or(JsValue::NULL, JsValue::from_str));
    set("restart_pc", &JsValue::from_bool(restart_of.is_some()));
    if !request_data.is_undefined() {
        set("request_data", request_data);
    }
    let json = js_sys::JSON::stringify(&body).ok().and_then(|s| s.as_string()).unwrap_or_default();
    let resp = post(url, token, "application/json", &json, signal, "the Pipecat offer endpoint").await?;
    let status = resp.status;
    let text = resp.body;
    if !(200..300).contains(&status) {
        return Err(LinkError::http(status, &text));
    }
    let what = "the Pipecat offer endpoint";
    let parsed = js_sys::JSON::parse(&text).map_err(|_| answer_error(what, status, "the body is not JSON"))?;
    let field = |k: &str| Reflect::get(&parsed, &k.into()).ok().and_then(|v| v.as_string());
    let sdp = field("sdp").ok_or_else(|| answer_error(what, status, "the JSON has no \"sdp\" string"))?;
    if let Some(problem) = unusable_answer(&sdp) {
        return Err(answer_error(what, status, problem));
    }
    let pc_id = field("pc_id");
    if pc_id.is_none() {
        return Err(LinkError::new(
            ErrorCode::SignalingAnswer,
            "the Pipecat answer has no \"pc_id\": the session could not be brought back after an outage",
        ));
    }
    let session = Session { id: pc_id, url: None, etag: None, token: token.map(str::to_string) };
    Ok(Answer { sdp, session, ice_servers: Vec::new(), trickle: true })
}

/// `PATCH url` with Pipecat's trickle body, `{ pc_id, candidates: [{ candidate, sdp_mid,
/// sdp_mline_index }] }` (what its own client sends; it has no end-of-candidates message).
pub async fn patch_candidates(url: &str, token: Option<&str>, pc_id: &str, mid: &str, batch: &Batch) -> Sent {
    let list = js_sys::Array::new();
    for c in &batch.candidates {
        let o = Object::new();
        let _ = Reflect::set(&o, &"candidate".into(), &c.as_str().into());
        let _ = Reflect::set(&o, &"sdp_mid".into(), &mid.into());
        let _ = Reflect::set(&o, &"sdp_mline_index".into(), &JsValue::from_f64(0.0));
        list.push(&o);
    }
    let body = Object::new();
    let _ = Reflect::set(&body, &"pc_id".into(), &pc_id.into());
    let _ = Reflect::set(&body, &"candidates".into(), &list);
    let json = js_sys::JSON::stringify(&body).ok().and_then(|s| s.as_string()).unwrap_or_default();
    super::Signaling::patch(url, token, "application/json", None, &json).await
}
