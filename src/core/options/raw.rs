//! The options as read from JS, before validation: the shapes the generated TypeScript types
//! (`VoiceLinkOptions` and its parts) describe.

use ts_rs::TS;

use super::*;

/// Options of `new VoiceLink(options)`. Every field but `url` is optional; unknown keys and
/// out-of-range values are rejected with a `VoiceLinkError` of code `invalid-option` that
/// names the field. (In Rust: the options as read from JS, before validation.)
#[derive(Clone, Debug, Default, PartialEq, TS)]
#[ts(rename = "VoiceLinkOptions", rename_all = "camelCase")]
pub struct RawOptions {
    /// The endpoint the SDP offer is POSTed to: an http(s) URL; relative URLs resolve against
    /// the page. For WHIP (RFC 9725) the WHIP endpoint; for `"openai"` the Realtime calls URL
    /// (e.g. `https://api.openai.com/v1/realtime/calls`); for `"pipecat"` the SmallWebRTC offer
    /// URL (e.g. `/api/offer`). A custom `signaling` object gets it as `request.url`.
    #[ts(type = "string")]
    pub url: Option<String>,
    /// How the offer reaches the server: `"whip"` (default, RFC 9725), `"openai"` (OpenAI
    /// Realtime over WebRTC; `token` is the ephemeral key your server minted), `"pipecat"`
    /// (Pipecat SmallWebRTC), or an object for anything else (see `VoiceLinkSignaling`).
    #[ts(optional, type = "\"whip\" | \"openai\" | \"pipecat\" | VoiceLinkSignaling")]
    pub signaling: Option<RawSignaling>,
    /// Pipecat only: sent as the offer's `request_data` (any JSON value), e.g. which bot to run.
    #[ts(optional, type = "unknown")]
    pub request_data: Option<bool>,
    /// Bearer token: a string, or a function returning a string or a Promise of one (called on
    /// every connect: ephemeral tokens). Sent as `Authorization: Bearer <token>`, so it must be
    /// visible ASCII without spaces: otherwise `invalid-option` (a string) or `token-failed` (what
    /// a function returned).
    #[ts(optional, type = "string | (() => string | Promise<string>)")]
    pub token: Option<RawToken>,
    /// ICE servers for the peer connection (W3C `RTCIceServer`; default: none, host
    /// candidates only).
    #[ts(optional)]
    pub ice_servers: Option<Vec<IceServer>>,
    /// Which candidates the peer connection may use (`RTCConfiguration.iceTransportPolicy`,
    /// W3C webrtc-pc §4.2.1): `"all"` (default) or `"relay"` (TURN only: hides the client's
    /// addresses, or tests the TURN path). With `"relay"` the offer waits (up to 2 s) for the
    /// first relay candidate.
    #[ts(optional, type = "\"all\" | \"relay\"")]
    pub ice_transport_policy: Option<String>,
    /// WHIP only: ask the server for its ICE servers before the offer with an `OPTIONS`
    /// pre-flight (RFC 9725 §4.6, `Link: <turn:…>; rel="ice-server"`), so gathering starts
    /// with them (default `false`: only the `Link` headers of the `POST`'s answer are used).
    #[ts(optional)]
    pub ice_servers_from_server: Option<bool>,
    /// Microphone constraints for `getUserMedia`.
    #[ts(optional)]
    pub audio: Option<RawAudio>,
    /// Milliseconds `connect()` may take before it rejects with `connect-timeout` (default
    /// 15000, 1..600000).
    #[ts(optional)]
    pub connect_timeout_ms: Option<f64>,
    /// Label of the data channel for app events (default `"events"`; `"oai-events"` with
    /// `signaling: "openai"`).
    #[ts(optional)]
    pub data_channel_label: Option<String>,
    /// Milliseconds over which remote audio fades to silence on teardown, so hanging up makes
    /// no pop (default 20, 0..1000).
    #[ts(optional)]
    pub fade_out_ms: Option<f64>,
    /// What `setMicEnabled(false)` does (default `true`): stop the capture track, so the
    /// browser's microphone indicator goes off, while the uplink keeps flowing as silence;
    /// unmuting captures again (same constraints and device) and swaps the track in without
    /// renegotiation. `false`: `track.enabled = false` — instant, but the indicator stays on.
    #[ts(optional)]
    pub mute_releases_mic: Option<bool>,
    /// What to do when the page is hidden (Page Visibility API): `"disconnect"` (default; the
    /// microphone is released) or `"none"`.
    #[ts(optional, type = "\"disconnect\" | \"none\"")]
    pub visibility: Option<String>,
    /// Milliseconds the page may stay hidden before the link disconnects (default 0: at once;
    /// 0..600000).
    #[ts(optional)]
    pub visibility_grace_ms: Option<f64>,
    /// Reconnect when the page is shown again after a visibility disconnect (default false).
    #[ts(optional)]
    pub resume_on_visible: Option<bool>,
    /// When the transport is lost: `"manual"` (default; status `"interrupted"`, the session is
    /// kept, call `reconnect()`) or `"auto"` (retry with exponential backoff and full jitter).
    #[ts(optional, type = "\"manual\" | \"auto\"")]
    pub reconnect: Option<String>,
    /// Automatic policy: attempt n waits uniformly in [0, min(cap, max(spread, base ·
    /// 2^(n-1)))] ms; base default 1000 (seed 004: 1, 2, 4, 8, 16, 30 s).
    #[ts(optional)]
    pub reconnect_base_ms: Option<f64>,
    /// Automatic policy: largest backoff wait, ms (default 30000).
    #[ts(optional)]
    pub reconnect_cap_ms: Option<f64>,
    /// Automatic policy: attempts before status `"failed"`, a whole number from 1 to 1000
    /// (default 10); outside that range `invalid-option`.
    #[ts(optional)]
    pub reconnect_attempts: Option<f64>,
    /// Automatic policy: smallest upper bound of any backoff wait, ms (default 5000), so a
    /// fleet that lost its server at once does not return at once; 0 gives the plain seed
    /// schedule.
    #[ts(optional)]
    pub reconnect_spread_ms: Option<f64>,
    /// How long the server keeps a session after its transport is lost, ms (default 300000):
    /// within it a reconnect is an ICE restart of the same session, after it a fresh session.
    #[ts(optional)]
    pub session_grace_ms: Option<f64>,
    /// No byte received on the transport for this long (ms) counts as an outage (default 1500,
    /// 200..60000); Chromium itself only says "disconnected" after about 5 s.
    #[ts(optional)]
    pub outage_timeout_ms: Option<f64>,
    /// Messages `send()` keeps while the data channel is not open, oldest dropped first
    /// (default 100).
    #[ts(optional)]
    pub outbox_capacity: Option<f64>,
    /// Milliseconds between quality samples from `getStats()` (default 1000, 100..60000).
    #[ts(optional)]
    pub stats_interval_ms: Option<f64>,
    /// RTT grading thresholds in ms, `[excellentBelow, goodBelow]` (default [50, 100], seed
    /// 003); RTT from the selected candidate pair's `currentRoundTripTime` (seconds in
    /// webrtc-stats, converted).
    #[ts(optional, type = "[number, number]")]
    pub quality_rtt_ms: Option<Vec<f64>>,
    /// Packet loss grading thresholds in %, from inbound-rtp packetsLost/packetsReceived
    /// deltas (default [1, 5]).
    #[ts(optional, type = "[number, number]")]
    pub quality_loss_pct: Option<Vec<f64>>,
    /// Jitter grading thresholds in ms, from inbound-rtp `jitter` (seconds, converted)
    /// (default [20, 50]).
    #[ts(optional, type = "[number, number]")]
    pub quality_jitter_ms: Option<Vec<f64>>,
    /// Microphone level (smoothed RMS, 0..1) at or above which `isSpeaking` is true (default
    /// 0.02).
    #[ts(optional)]
    pub speaking_threshold: Option<f64>,
    /// Milliseconds `isSpeaking` stays true after the level drops (default 300).
    #[ts(optional)]
    pub speaking_hang_ms: Option<f64>,
    /// Record each stats and level-meter tick as a User Timing measure
    /// (`"voicelink:stats-tick"`, `"voicelink:meter-tick"`) for profilers (default false).
    #[ts(optional)]
    pub profile: Option<bool>,
    /// An optional control WebSocket beside the media connection (seed 003): opened once the
    /// media session exists, announcing `{"type":"session_info","session_id":…}`; absent → no
    /// WebSocket.
    #[ts(optional)]
    pub control: Option<RawControl>,
}

/// The `token` option as the core sees it: a string, or a provider function (which the JS
/// layer keeps and calls on every connect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawToken {
    /// A fixed bearer token.
    Text(String),
    /// A function returning a token or a promise of one.
    Provider,
}

/// `audio`: microphone constraints. Echo cancellation, noise suppression and auto gain
/// default to true, `channelCount` to 1 (mono).
#[derive(Clone, Debug, Default, PartialEq, TS)]
#[ts(rename = "VoiceLinkAudioOptions", rename_all = "camelCase")]
pub struct RawAudio {
    /// `echoCancellation` constraint (default true).
    #[ts(optional)]
    pub echo_cancellation: Option<bool>,
    /// `noiseSuppression` constraint (default true).
    #[ts(optional)]
    pub noise_suppression: Option<bool>,
    /// `autoGainControl` constraint (default true).
    #[ts(optional)]
    pub auto_gain_control: Option<bool>,
    /// `channelCount` constraint: 1 (default, mono) or 2.
    #[ts(optional, type = "1 | 2")]
    pub channel_count: Option<f64>,
    /// `deviceId` constraint (exact), from `enumerateDevices()`; absent: the default
    /// microphone.
    #[ts(optional)]
    pub device_id: Option<String>,
}

/// `control`: the control WebSocket, before validation. `url` is already resolved against the
/// page (http → ws).
#[derive(Clone, Debug, Default, PartialEq, TS)]
#[ts(rename = "VoiceLinkControlOptions", rename_all = "camelCase")]
pub struct RawControl {
    /// `ws:` or `wss:` URL (relative URLs resolve against the page, http → ws).
    #[ts(type = "string")]
    pub url: Option<String>,
    /// Heartbeat `{"type":"ping","ts":…}` interval, ms (default 30000).
    #[ts(optional)]
    pub heartbeat_ms: Option<f64>,
    /// No message received for this long (ms) is an outage: close (4000) and reconnect
    /// (default 2 × heartbeatMs + 5000).
    #[ts(optional)]
    pub heartbeat_timeout_ms: Option<f64>,
    /// Reconnect after an abnormal close: attempt n waits uniformly in [0, min(cap, base ·
    /// 2^(n-1))] ms (base default 5000, seed 003).
    #[ts(optional)]
    pub reconnect_base_ms: Option<f64>,
    /// Largest reconnect wait, ms (default 30000).
    #[ts(optional)]
    pub reconnect_cap_ms: Option<f64>,
    /// Reconnect attempts before giving up (default 10).
    #[ts(optional)]
    pub reconnect_attempts: Option<f64>,
    /// Messages `sendControl()` keeps while the socket is down, oldest dropped first (default
    /// 100).
    #[ts(optional)]
    pub outbox_capacity: Option<f64>,
}

impl RawControl {
    pub(super) fn validate(&self) -> Result<ControlOptions, LinkError> {
        let url = self.url.as_deref().ok_or_else(|| invalid("options.control.url is required: the control WebSocket (ws: or wss:)".into()))?;
        let lower = url.to_ascii_lowercase();
        let host = lower.strip_prefix("wss://").or_else(|| lower.strip_prefix("ws://")).and_then(|r| r.split(['/', '?', '#']).next());
        if host.is_none_or(str::is_empty) {
            return Err(invalid(format!("options.control.url must be a ws: or wss: URL, got \"{}\"", clip(url))));
        }
        let heartbeat_ms = millis(self.heartbeat_ms, "control.heartbeatMs", 100, 3_600_000, 30_000)?;
        let heartbeat_timeout_ms = millis(
            self.heartbeat_timeout_ms,
            "control.heartbeatTimeoutMs",
            100,
            7_200_000,
            heartbeat_ms.saturating_mul(2).saturating_add(5_000),
        )?;
        let base_ms = millis(self.reconnect_base_ms, "control.reconnectBaseMs", 1, 600_000, 5_000)?;
        let cap_ms = millis(self.reconnect_cap_ms, "control.reconnectCapMs", 1, 3_600_000, 30_000.max(base_ms))?;
        if cap_ms < base_ms {
            return Err(invalid(format!("options.control.reconnectCapMs ({cap_ms}) must not be below reconnectBaseMs ({base_ms})")));
        }
        let attempts = count(self.reconnect_attempts, "control.reconnectAttempts", 1, 1000, 10)?;
        let outbox_capacity = count(self.outbox_capacity, "control.outboxCapacity", 0, 100_000, DEFAULT_OUTBOX_CAPACITY)?;
        Ok(ControlOptions {
            url: url.to_string(),
            heartbeat_ms,
            heartbeat_timeout_ms,
            backoff: Backoff { base_ms, cap_ms, attempts, spread_ms: 0, jitter: true },
            outbox_capacity,
        })
    }
}

