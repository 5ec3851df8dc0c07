//! The snapshot: an immutable view of the link for UIs (`getSnapshot()`).

use ts_rs::TS;

use super::error::{ErrorCode, LinkError};
use super::machine::{ConnectPhase, ConnectTimings, EndReason, Machine, Status};
use super::outbox::Outbox;
use super::control::ControlState;
use super::quality::{Grade, Grader, Quality};
use super::mic::MicState;
use super::telemetry::Telemetry;

/// The snapshot's `error`: `{ code, message, status }`.
#[derive(Clone, Debug, PartialEq, TS)]
#[ts(rename = "VoiceLinkErrorInfo")]
pub struct ErrorInfo {
    /// Stable error code, e.g. `"signaling-http"`.
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
    /// HTTP status for `signaling-http`, else `null`.
    pub status: Option<u16>,
}

impl From<&LinkError> for ErrorInfo {
    fn from(e: &LinkError) -> Self {
        ErrorInfo { code: e.code, message: e.message.clone(), status: e.status }
    }
}

/// The snapshot's `control`: the control WebSocket.
#[derive(Clone, Debug, PartialEq, TS)]
#[ts(rename = "VoiceLinkControlView", rename_all = "camelCase")]
pub struct ControlView {
    /// `"idle" | "connecting" | "open" | "confirmed" | "reconnecting" | "closed"`.
    pub state: ControlState,
    /// Messages `sendControl()` buffered while the socket was down.
    pub queued_messages: usize,
    /// Messages dropped because the control outbox was full.
    #[ts(type = "number")]
    pub dropped_messages: u64,
    /// Reconnects since the link connected.
    pub reconnects: u32,
}

/// What `getSnapshot()` returns: a frozen object, the same object until something changes
/// (what React's `useSyncExternalStore` needs). camelCase in JS; absent values are `null`.
#[derive(Clone, Debug, PartialEq, TS)]
#[ts(rename = "VoiceLinkSnapshot", rename_all = "camelCase")]
pub struct Snapshot {
    /// `"idle" | "connecting" | "connected" | "interrupted" | "reconnecting" | "disconnected" | "failed"`.
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
    /// Where the last connect's time went: `{ micMs, signalingMs, iceMs, totalMs }`.
    pub connect_timings: Option<ConnectTimings>,
    /// Connection quality from `getStats()`: `{ grade, rttMs, jitterMs, packetLoss, limitedBy }`.
    /// `grade` is `"unknown"` before the first sample and while connecting, `"lost"` while
    /// interrupted, reconnecting or ended.
    pub quality: Quality,
    /// `true` while the browser's autoplay policy blocks remote audio; call `resumeAudio()`
    /// from a user gesture.
    pub audio_blocked: bool,
    /// Teardown steps that threw in the last teardown (the others still ran), e.g.
    /// `["data channel"]`; empty when all went well.
    pub teardown_errors: Vec<&'static str>,
    /// `true` when `reconnect()` would act now: show the reconnect button.
    pub can_reconnect: bool,
    /// While interrupted or reconnecting: ms until the server forgets the session
    /// (`sessionGraceMs` from the outage); `null` otherwise.
    pub grace_remaining_ms: Option<f64>,
    /// Recovery attempts made in the current outage (0 when none).
    pub reconnect_attempt: u32,
    /// While the automatic policy waits: ms until its next attempt; `null` otherwise.
    pub next_retry_in_ms: Option<f64>,
    /// `true` when a recovery had to replace the session (the server had forgotten it).
    pub session_replaced: bool,
    /// Messages `send()` buffered while the data channel was not open, waiting.
    pub queued_messages: usize,
    /// Messages dropped because the outbox was full (oldest first), since the link was created.
    #[ts(type = "number")]
    pub dropped_messages: u64,
    /// Microphone level: RMS of the captured audio, smoothed, 0..1 in steps of 0.01 (Web Audio
    /// AnalyserNode, ~20 readings a second while connected and visible).
    pub mic_level: f64,
    /// Remote audio level, same measure.
    pub remote_level: f64,
    /// `true` while the microphone level is at or above `speakingThreshold`, and for
    /// `speakingHangMs` after.
    pub is_speaking: bool,
    /// `false` while the app muted the microphone (`setMicEnabled(false)`) or it was lost with
    /// nothing to take over. With `muteReleasesMic` (default) the capture track is stopped
    /// while muted (the browser's mic indicator is off) and the uplink carries silence.
    pub mic_enabled: bool,
    /// The microphone the app chose (`setMicrophone`, or `audio.deviceId`): a `deviceId` from
    /// `listMicrophones()`, or `"default"` (the system default, followed on `devicechange`).
    pub mic_device_id: String,
    /// `false` after the browser's `offline` event until `online` (`true` before any: a page
    /// whose only network is loopback reads `navigator.onLine` false yet connects): the outage is declared at once; after `online` the automatic policy attempts at
    /// once, the manual one shows `canReconnect` ("Reconnect now").
    pub network_online: bool,
    /// The control WebSocket, when `options.control` is set; `null` otherwise.
    pub control: Option<ControlView>,
}

impl Snapshot {
    /// The quality view for the machine's status.
    pub fn quality_of(m: &Machine, grader: &Grader) -> Quality {
        let mut q = grader.quality();
        match m.status() {
            Status::Connected => {}
            Status::Idle | Status::Connecting => q.grade = Grade::Unknown,
            _ => q.grade = Grade::Lost,
        }
        if q.grade != Grade::Good && q.grade != Grade::Poor {
            q.limited_by.clear();
        }
        q
    }

    /// The snapshot of a machine, its outbox and its quality grader. Times are as of the
    /// machine's last input.
    pub fn of(m: &Machine, outbox: &Outbox, telemetry: &Telemetry, mic: &MicState) -> Snapshot {
        Snapshot {
            status: m.status(),
            phase: m.phase(),
            session_id: m.session().and_then(|s| s.id.clone()),
            session_url: m.session().and_then(|s| s.url.clone()),
            error: m.error().map(ErrorInfo::from),
            end_reason: m.end_reason(),
            connect_ms: m.connect_ms(),
            connect_timings: m.timings(),
            quality: Snapshot::quality_of(m, telemetry.grader()),
            audio_blocked: m.audio_blocked(),
            teardown_errors: m.teardown_errors().to_vec(),
            can_reconnect: m.can_reconnect(),
            grace_remaining_ms: m.grace_remaining_ms(m.now_ms()).map(f64::round),
            reconnect_attempt: m.reconnect_attempt(),
            next_retry_in_ms: m.next_retry_in_ms(m.now_ms()).map(f64::round),
            session_replaced: m.session_replaced(),
            queued_messages: outbox.len(),
            dropped_messages: outbox.dropped(),
            mic_level: telemetry.mic().shown(),
            remote_level: telemetry.remote().shown(),
            is_speaking: telemetry.mic().speaking(),
            mic_enabled: mic.enabled(),
            mic_device_id: mic.device_id().to_string(),
            network_online: m.network_online(),
            control: None,
        }
    }
}
