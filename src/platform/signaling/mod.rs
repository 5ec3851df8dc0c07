//! Signaling: how the SDP offer reaches the server and the answer comes back, and what
//! "reconnect" and "hang up" mean for each protocol the `signaling` option names — WHIP
//! ([`whip`], RFC 9725), OpenAI Realtime ([`openai`]), Pipecat SmallWebRTC ([`pipecat`]) and the
//! app's own object ([`custom`]). [`Signaling`] is the seam the driver calls; every request goes
//! through [`http`] (one `fetch`, in `http.js`); the shared answer checks are here.

pub mod custom;
pub mod http;
pub mod openai;
pub mod pipecat;
pub mod whip;

use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

use http::{Reply, Request};

use crate::core::trickle::{Batch, FragmentHead, Mode, Sent};
use crate::core::{ErrorCode, LinkError, Protocol, Session};
use crate::platform::js;

pub use whip::{restart_refused, DELETE_TIMEOUT_MS};

/// The server's answer to an offer.
pub struct Answer {
    /// The SDP answer.
    pub sdp: String,
    /// The session the server made (WHIP: `Location`, `ETag`, `X-Session-ID`; OpenAI: the call
    /// id; Pipecat: the `pc_id`; custom: the `session` the app returned).
    pub session: Session,
    /// ICE servers the server advertised (`RTCIceServer` dictionaries; WHIP `Link` headers).
    pub ice_servers: Vec<JsValue>,
    /// The server takes trickled candidates for this session (WHIP: `Accept-Patch` names
    /// `application/trickle-ice-sdpfrag`; Pipecat: always).
    pub trickle: bool,
}

/// How a protocol brings a session back after an outage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// An ICE restart of the same peer connection: WHIP `PATCH` of a trickle-ICE fragment.
    IcePatch,
    /// An ICE restart of the same peer connection through the app's `restart(request)`.
    CustomRestart,
    /// A new peer connection in the same server session (Pipecat `restart_pc`), offered before
    /// the old one is closed.
    NewPeerSameSession,
    /// No restart: a fresh session (OpenAI: a new call; custom without `restart`).
    FreshSession,
}

/// The `signaling` option, resolved: the protocol and, for the app's own, its functions.
pub enum Signaling {
    /// WHIP (RFC 9725), the default.
    Whip,
    /// OpenAI Realtime over WebRTC.
    OpenAi,
    /// Pipecat SmallWebRTC; `request_data` goes with every offer (`undefined`: none).
    Pipecat {
        /// The `requestData` option.
        request_data: JsValue,
    },
    /// The app's object.
    Custom(custom::Custom),
}

impl Signaling {
    /// The core's name for it.
    pub fn protocol(&self) -> Protocol {
        match self {
            Signaling::Whip => Protocol::Whip,
            Signaling::OpenAi => Protocol::OpenAi,
            Signaling::Pipecat { .. } => Protocol::Pipecat,
            Signaling::Custom(c) => Protocol::Custom { restart: c.has_restart(), hangup: c.has_hangup() },
        }
    }

    /// How this protocol brings a session back.
    pub fn recovery(&self) -> Recovery {
        match self {
            Signaling::Whip => Recovery::IcePatch,
            Signaling::OpenAi => Recovery::FreshSession,
            Signaling::Pipecat { .. } => Recovery::NewPeerSameSession,
            Signaling::Custom(c) if c.has_restart() => Recovery::CustomRestart,
            Signaling::Custom(_) => Recovery::FreshSession,
        }
    }

    /// How candidates gathered after the offer reach this server (issue 16): WHIP and Pipecat
    /// `PATCH` them; OpenAI and an app's object have no way, they are dropped.
    pub fn trickle_mode(&self) -> Mode {
        match self {
            Signaling::Whip => Mode::Whip,
            Signaling::Pipecat { .. } => Mode::Pipecat,
            Signaling::OpenAi | Signaling::Custom(_) => Mode::Off,
        }
    }

    /// Sends one batch of trickled candidates for `session` (WHIP: a fragment built with
    /// `head`; Pipecat: JSON with the bundle tag's mid). Never fails: the outcome is returned.
    pub async fn trickle(&self, url: &str, session: &Session, head: &FragmentHead, batch: &Batch) -> Sent {
        match self {
            Signaling::Whip => match &session.url {
                Some(session_url) => {
                    whip::patch_trickle(session_url, session.token.as_deref(), session.etag.as_deref(), &head.fragment(batch)).await
                }
                None => Sent::Status(0),
            },
            Signaling::Pipecat { .. } => match &session.id {
                Some(pc_id) => pipecat::patch_candidates(url, session.token.as_deref(), pc_id, head.mid(), batch).await,
                None => Sent::Status(0),
            },
            Signaling::OpenAi | Signaling::Custom(_) => Sent::Ok,
        }
    }

    /// A `PATCH` (trickle) with `body` of `content_type`: what it ended with.
    pub(crate) async fn patch(url: &str, token: Option<&str>, content_type: &str, if_match: Option<&str>, body: &str) -> Sent {
        let req = Request { method: "PATCH", url, token, content_type, if_match: if_match.unwrap_or(""), body, ..Default::default() };
        match http::send(req).await {
            Ok(r) if r.ok() => Sent::Ok,
            Ok(r) => Sent::Status(r.status),
            Err(_) => Sent::Status(0),
        }
    }

    /// Sends the offer to `url` and returns the answer; `previous`: the session this one
    /// replaces, if any (an app's `offer` gets its string as `request.session`). `signal` aborts
    /// the request. Errors: `signaling-network`, `signaling-http` (with the status),
    /// `unauthorized` (401/403), `signaling-answer`.
    pub async fn offer(
        &self,
        url: &str,
        token: Option<&str>,
        sdp: &str,
        previous: Option<&Session>,
        signal: &AbortSignal,
    ) -> Result<Answer, LinkError> {
        match self {
            Signaling::Whip => whip::post_offer(url, token, sdp, signal).await,
            Signaling::OpenAi => openai::post_offer(url, token, sdp, signal).await,
            Signaling::Pipecat { request_data } => pipecat::post_offer(url, token, sdp, None, request_data, signal).await,
            Signaling::Custom(c) => c.offer(url, token, sdp, previous, signal).await,
        }
    }

    /// Ends `session` on the server, as the protocol says: WHIP `DELETE` (with the session's
    /// token; `keepalive` when the page is going away), the app's `hangup`, or nothing (OpenAI,
    /// Pipecat: closing the peer connection is the hang-up). Never fails; bounded.
    pub async fn hangup(&self, url: &str, session: &Session, keepalive: bool) {
        match self {
            Signaling::Whip => {
                if let Some(session_url) = &session.url {
                    match whip::delete_session(session_url, session.token.as_deref(), keepalive).await {
                        Ok(status) => log::debug!("hang-up: WHIP DELETE answered {status}"),
                        Err(e) => log::warn!("hang-up: WHIP DELETE failed: {}", js::error_message(&e)),
                    }
                }
            }
            Signaling::Custom(c) => c.hangup(url, session).await,
            Signaling::OpenAi | Signaling::Pipecat { .. } => {}
        }
    }
}

/// A `POST` of `body` with `content_type` and the bearer token; `signal` aborts it. Errors:
/// `signaling-network` (no HTTP response), naming `what` was being reached.
pub(crate) async fn post(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
    signal: &AbortSignal,
    what: &str,
) -> Result<Reply, LinkError> {
    let req = Request { method: "POST", url, token, content_type, body, signal: Some(signal), ..Default::default() };
    http::send(req).await.map_err(|e| {
        LinkError::new(
            ErrorCode::SignalingNetwork,
            format!(
                "{what} could not be reached ({}): check the URL, that the server runs, and its CORS headers",
                js::error_message(&e)
            ),
        )
    })
}

/// Resolves a possibly relative `Location` against the request URL, with the browser's URL parser.
pub(crate) fn resolve(location: &str, base: &str) -> Option<String> {
    web_sys::Url::new_with_base(location, base).ok().map(|u| u.href())
}

/// Why a 2xx body is no usable SDP answer, or `None` when it is one: it must be an SDP
/// (`v=0` first) with a DTLS fingerprint (`a=fingerprint:`, RFC 8122; WebRTC refuses an answer
/// without one).
pub(crate) fn unusable_answer(body: &str) -> Option<&'static str> {
    if !body.trim_start().starts_with("v=0") {
        return Some("the body is not an SDP answer (it must start with \"v=0\")");
    }
    if !crate::core::text::contains(body, "a=fingerprint:") {
        return Some("the SDP answer has no DTLS fingerprint (a=fingerprint)");
    }
    None
}

/// A `signaling-answer` error for an answer that cannot be used.
pub(crate) fn answer_error(what: &str, status: u16, problem: &str) -> LinkError {
    LinkError::new(ErrorCode::SignalingAnswer, [what, " answered HTTP ", &status.to_string(), " but ", problem].concat())
}
