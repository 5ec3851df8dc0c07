//! The snapshot: an immutable view of the link for UIs (`getSnapshot()`).

use serde::Serialize;

use super::error::LinkError;
use super::machine::{ConnectPhase, EndReason, Machine, Status};

/// The error part of a snapshot: `{ code, message, status }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorInfo {
    /// Stable error code, e.g. `"signaling-http"`.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// HTTP status for `signaling-http`, else `null`.
    pub status: Option<u16>,
}

impl From<&LinkError> for ErrorInfo {
    fn from(e: &LinkError) -> Self {
        ErrorInfo { code: e.code.as_str(), message: e.message.clone(), status: e.status }
    }
}

/// What `getSnapshot()` returns (camelCase in JS; absent values are `null`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// `"idle" | "connecting" | "connected" | "disconnected" | "failed"`.
    pub status: Status,
    /// While connecting: `"token" | "microphone" | "offer" | "signaling" | "ice"`.
    pub phase: Option<ConnectPhase>,
    /// The WHIP session id (from `X-Session-ID`, else the `Location` URL's last segment).
    pub session_id: Option<String>,
    /// The WHIP session URL (resolved `Location`).
    pub session_url: Option<String>,
    /// The error that ended the link, when `status` is `"failed"`.
    pub error: Option<ErrorInfo>,
    /// Why the link ended: `"user" | "disposed" | "error" | "server-ended" | "hidden" | "page-hide"`.
    pub end_reason: Option<EndReason>,
    /// Milliseconds from the `connect()` call to `connected` (performance.now() clock).
    pub connect_ms: Option<f64>,
    /// `true` while the browser's autoplay policy blocks remote audio; call `resumeAudio()`
    /// from a user gesture.
    pub audio_blocked: bool,
    /// Teardown steps that threw in the last teardown (the others still ran), e.g.
    /// `["data channel"]`; empty when all went well.
    pub teardown_errors: Vec<&'static str>,
}

impl Snapshot {
    /// The snapshot of a machine.
    pub fn of(m: &Machine) -> Snapshot {
        Snapshot {
            status: m.status(),
            phase: m.phase(),
            session_id: m.session().and_then(|s| s.id.clone()),
            session_url: m.session().and_then(|s| s.url.clone()),
            error: m.error().map(ErrorInfo::from),
            end_reason: m.end_reason(),
            connect_ms: m.connect_ms(),
            audio_blocked: m.audio_blocked(),
            teardown_errors: m.teardown_errors().to_vec(),
        }
    }
}
