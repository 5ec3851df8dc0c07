//! OpenAI Realtime over WebRTC (the GA "calls" API): `POST url` with `Content-Type:
//! application/sdp` and `Authorization: Bearer <ephemeral key>` (the app's server mints the key;
//! the browser passes it as `token`); the answer is the body; the call id is the last path
//! segment of `Location`. Server events arrive on the `oai-events` data channel. There is no ICE
//! restart and no `DELETE`: reconnect is a new call, hang-up is closing the peer connection.

use web_sys::AbortSignal;

use super::http::Header;
use super::{answer_error, post, resolve, unusable_answer, Answer};
use crate::core::{session_id_from_url, LinkError, Session};

/// `POST`s the offer; returns the answer and the call (`sessionId`: the call id).
/// Errors: `signaling-network`, `unauthorized` (401/403), `signaling-http` (the message carries
/// OpenAI's `error.message`), `signaling-answer`.
pub async fn post_offer(url: &str, token: Option<&str>, offer: &str, signal: &AbortSignal) -> Result<Answer, LinkError> {
    let resp = post(url, token, "application/sdp", offer, signal, "the OpenAI Realtime endpoint").await?;
    let location = resp.header(Header::Location).map(|l| resolve(&l, &resp.url).unwrap_or(l));
    let (status, body) = (resp.status, resp.body);
    if !(200..300).contains(&status) {
        return Err(LinkError::http(status, &error_message(&body).unwrap_or(body)));
    }
    if let Some(problem) = unusable_answer(&body) {
        return Err(answer_error("the OpenAI Realtime endpoint", status, problem));
    }
    let session = Session {
        id: location.as_deref().and_then(session_id_from_url),
        url: location,
        etag: None,
        token: token.map(str::to_string),
    };
    Ok(Answer { sdp: body, session, ice_servers: Vec::new(), trickle: false })
}

/// `error.message` of an OpenAI error body (`{ "error": { "message": … } }`).
fn error_message(body: &str) -> Option<String> {
    let parsed = js_sys::JSON::parse(body).ok()?;
    let error = js_sys::Reflect::get(&parsed, &"error".into()).ok().filter(|e| e.is_object())?;
    js_sys::Reflect::get(&error, &"message".into()).ok()?.as_string()
}
