//! Validated link options. The JS boundary parses a plain object into [`Options`] with
//! [`Options::validate`] before anything in the browser is touched.

use ts_rs::TS;

use super::backoff::Backoff;
use super::control::ControlOptions;
use super::error::{num, ErrorCode, LinkError};
use super::outbox::DEFAULT_OUTBOX_CAPACITY;
use super::levels::{DEFAULT_SPEAKING_HANG_MS, DEFAULT_SPEAKING_THRESHOLD};
use super::quality::{QualityThresholds, Thresholds};

/// Default for `connectTimeoutMs`: 15 000 ms.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 15_000;
/// Largest accepted `connectTimeoutMs`: 600 000 ms (10 minutes).
pub const MAX_CONNECT_TIMEOUT_MS: u32 = 600_000;
/// Default for `fadeOutMs`: the playback gain ramps to zero over 20 ms on teardown.
pub const DEFAULT_FADE_OUT_MS: u32 = 20;
/// Largest accepted `fadeOutMs`: 1000 ms.
pub const MAX_FADE_OUT_MS: u32 = 1_000;
/// Largest accepted `visibilityGraceMs`: 600 000 ms (10 minutes).
pub const MAX_VISIBILITY_GRACE_MS: u32 = 600_000;
/// Default `sessionGraceMs`: the server keeps a session 300 000 ms (5 minutes) after its
/// transport is lost (seed 001).
pub const DEFAULT_SESSION_GRACE_MS: u32 = 300_000;
/// Default `outageTimeoutMs`: no byte received for 1500 ms means the transport is down.
pub const DEFAULT_OUTAGE_TIMEOUT_MS: u32 = 1_500;
/// Default `statsIntervalMs`: one quality sample per 1000 ms.
pub const DEFAULT_STATS_INTERVAL_MS: u32 = 1_000;
/// Default data channel label: `"events"`.
pub const DEFAULT_DATA_CHANNEL_LABEL: &str = "events";
/// Data channel label OpenAI's Realtime API listens on: `"oai-events"`.
pub const OPENAI_DATA_CHANNEL_LABEL: &str = "oai-events";

/// How the offer reaches the server, and what "reconnect" and "hang up" mean there (the
/// `signaling` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// WHIP (RFC 9725): `POST` `application/sdp` → `201` + answer + `Location`; ICE restart by
    /// `PATCH` (with a fresh-session fallback); hang-up by `DELETE`. The default.
    Whip,
    /// OpenAI Realtime over WebRTC: `POST` `application/sdp` with the ephemeral key as bearer
    /// token → the answer; the call id is the last path segment of `Location`. No ICE restart
    /// (reconnect = a new call), hang-up = close.
    OpenAi,
    /// Pipecat SmallWebRTC: `POST` JSON `{ sdp, type, pc_id, restart_pc, request_data }` →
    /// `{ sdp, type, pc_id }`; reconnect = a new peer connection in the same server session
    /// (`restart_pc: true`, offered before the old one closes); hang-up = close.
    Pipecat,
    /// The app's own: an object with `offer(request)`, optional `restart(request)` and
    /// `hangup(request)`.
    Custom {
        /// The object has a `restart` function (else reconnect is a fresh `offer`).
        restart: bool,
        /// The object has a `hangup` function (else hang-up is only closing).
        hangup: bool,
    },
}

/// The `signaling` option as the core sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawSignaling {
    /// `"whip"`, `"openai"`, `"pipecat"` (or anything else: refused).
    Name(String),
    /// An object whose `offer` is a function; whether `restart` / `hangup` are.
    Custom {
        /// `restart` is a function.
        restart: bool,
        /// `hangup` is a function.
        hangup: bool,
    },
}

/// Microphone capture settings, passed to `getUserMedia` as audio constraints.
/// Defaults follow the voice-agent practice: echo cancellation, noise suppression and
/// auto gain on, mono.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioOptions {
    /// `echoCancellation` constraint (default `true`).
    pub echo_cancellation: bool,
    /// `noiseSuppression` constraint (default `true`).
    pub noise_suppression: bool,
    /// `autoGainControl` constraint (default `true`).
    pub auto_gain_control: bool,
    /// `channelCount` constraint, 1 or 2 (default 1, mono).
    pub channel_count: u8,
    /// `deviceId` constraint (exact), or `None` for the default microphone.
    pub device_id: Option<String>,
}

impl Default for AudioOptions {
    fn default() -> Self {
        AudioOptions {
            echo_cancellation: true,
            noise_suppression: true,
            auto_gain_control: true,
            channel_count: 1,
            device_id: None,
        }
    }
}

/// What the link does when the page is hidden (Page Visibility API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiddenPolicy {
    /// `"disconnect"` (default): disconnect and release the microphone.
    Disconnect,
    /// `"none"`: keep running in the background.
    None,
}

/// The visibility options: `visibility`, `visibilityGraceMs`, `resumeOnVisible`.
#[derive(Clone, Debug, PartialEq)]
pub struct VisibilityPolicy {
    /// What to do when hidden.
    pub on_hidden: HiddenPolicy,
    /// How long the page may stay hidden before the link disconnects, in ms (default 0: at once).
    pub grace_ms: u32,
    /// Reconnect when the page is shown again after a hidden-triggered disconnect (default false).
    pub resume_on_visible: bool,
}

impl Default for VisibilityPolicy {
    fn default() -> Self {
        VisibilityPolicy { on_hidden: HiddenPolicy::Disconnect, grace_ms: 0, resume_on_visible: false }
    }
}

/// What the link does when the transport is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconnectPolicy {
    /// `"manual"` (default, seed 001): status `interrupted`, the session is kept, the app shows
    /// a reconnect button that calls `reconnect()`.
    Manual,
    /// `"auto"` (seed 004): reconnect by itself with exponential backoff and full jitter.
    Auto,
}

/// One ICE server, as in `RTCIceServer` (W3C webrtc-pc): `urls` with a `stun:`, `stuns:`,
/// `turn:` or `turns:` scheme, and for TURN a username and credential.
#[derive(Clone, Debug, PartialEq, TS)]
#[ts(rename = "VoiceLinkIceServer")]
pub struct IceServer {
    /// One or more server URLs.
    #[ts(type = "string | string[]")]
    pub urls: Vec<String>,
    /// TURN username.
    #[ts(optional)]
    pub username: Option<String>,
    /// TURN credential.
    #[ts(optional)]
    pub credential: Option<String>,
}

/// Everything the link needs to know, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The endpoint (absolute `http:` or `https:` URL) the SDP offer is POSTed to.
    pub url: String,
    /// The signaling protocol (`signaling`; default WHIP).
    pub protocol: Protocol,
    /// ICE servers for the peer connection (default: none — host candidates only).
    pub ice_servers: Vec<IceServer>,
    /// Microphone constraints.
    pub audio: AudioOptions,
    /// How long `connect()` may take, in milliseconds, from the call to `connected`.
    pub connect_timeout_ms: u32,
    /// Label of the data channel the link opens for app events.
    pub data_channel_label: String,
    /// Playback fade-out on teardown, in ms (0 = none).
    pub fade_out_ms: u32,
    /// Page visibility behaviour.
    pub visibility: VisibilityPolicy,
    /// Reconnect policy.
    pub reconnect: ReconnectPolicy,
    /// Backoff of the automatic policy.
    pub backoff: Backoff,
    /// How long the server keeps a session after its transport is lost, ms.
    pub session_grace_ms: u32,
    /// No byte received on the transport for this long (ms) counts as an outage.
    pub outage_timeout_ms: u32,
    /// Messages buffered while the data channel is not open.
    pub outbox_capacity: u32,
    /// Quality sample interval, ms.
    pub stats_interval_ms: u32,
    /// Quality grading thresholds.
    pub quality: QualityThresholds,
    /// Microphone level (smoothed RMS, 0..1) at or above which `isSpeaking` is true.
    pub speaking_threshold: f64,
    /// How long `isSpeaking` stays true after the level drops, ms.
    pub speaking_hang_ms: u32,
    /// Record each stats and meter tick as a User Timing measure (`voicelink:stats-tick`,
    /// `voicelink:meter-tick`) for profilers.
    pub profile: bool,
    /// The optional control WebSocket.
    pub control: Option<ControlOptions>,
}

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
    /// every connect: ephemeral tokens).
    #[ts(optional, type = "string | (() => string | Promise<string>)")]
    pub token: Option<RawToken>,
    /// ICE servers for the peer connection (W3C `RTCIceServer`; default: none, host
    /// candidates only).
    #[ts(optional)]
    pub ice_servers: Option<Vec<IceServer>>,
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
    fn validate(&self) -> Result<ControlOptions, LinkError> {
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

fn invalid(message: String) -> LinkError {
    LinkError::new(ErrorCode::InvalidOption, message)
}

/// Checks that `url` is an absolute `http:`/`https:` URL with a host.
pub fn validate_endpoint(url: &str) -> Result<(), LinkError> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| invalid(format!("options.url must be an http: or https: URL, got \"{}\"", clip(url))))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(invalid(format!("options.url has no host: \"{}\"", clip(url))));
    }
    Ok(())
}

/// An optional whole number of milliseconds in `min..=max`, or `default`.
#[inline(never)]
fn millis(value: Option<f64>, name: &str, min: u32, max: u32, default: u32) -> Result<u32, LinkError> {
    match value {
        None => Ok(default),
        Some(ms) if ms.is_finite() && ms >= min as f64 && ms <= max as f64 => Ok(ms.round() as u32),
        Some(ms) => Err(invalid(format!("options.{name} must be a number of milliseconds from {min} to {max}, got {}", num(ms)))),
    }
}

/// An optional `[excellentBelow, goodBelow]` pair: positive, finite, ascending.
#[inline(never)]
fn thresholds(value: Option<&[f64]>, name: &str, default: Thresholds) -> Result<Thresholds, LinkError> {
    match value {
        None => Ok(default),
        Some(&[e, g]) if e.is_finite() && g.is_finite() && e > 0.0 && g > e => Ok(Thresholds { excellent: e, good: g }),
        Some(v) => Err(invalid(format!(
            "options.{name} must be [excellentBelow, goodBelow], two positive ascending numbers, got [{}]",
            v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// An optional whole number in `min..=max`, or `default`.
#[inline(never)]
fn count(value: Option<f64>, name: &str, min: u32, max: u32, default: u32) -> Result<u32, LinkError> {
    match value {
        None => Ok(default),
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(n as u32),
        Some(n) => Err(invalid(format!("options.{name} must be a whole number from {min} to {max}, got {}", num(n)))),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Why an ICE server URL is malformed, or `None`: `scheme:host[:port][?transport=udp|tcp]`
/// (RFC 7064 for `stun:`/`stuns:`, RFC 7065 for `turn:`/`turns:`; the transport only for TURN),
/// the host a name or an IPv4 address or a bracketed IPv6 address, the port 1..65535. What the
/// browser would refuse in the `RTCPeerConnection` constructor is refused here, at
/// `new VoiceLink()`. An unknown scheme is left to the caller's message.
pub fn ice_url_problem(url: &str) -> Option<&'static str> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let turn = scheme == "turn" || scheme == "turns";
    if !turn && scheme != "stun" && scheme != "stuns" {
        return None;
    }
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if let Some(q) = query {
        if !turn {
            return Some("has a query: only turn:/turns: URLs take ?transport=udp|tcp");
        }
        if q != "transport=udp" && q != "transport=tcp" {
            return Some("has a query other than ?transport=udp or ?transport=tcp");
        }
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else { return Some("has an IPv6 address without its closing ]") };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Some("has a malformed IPv6 address");
        }
        match after.strip_prefix(':') {
            Some(p) => (addr, Some(p)),
            None if after.is_empty() => (addr, None),
            None => return Some("has text after the IPv6 address"),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Some("has no host (expected scheme:host[:port])");
    }
    if host.starts_with("//") || host.contains('/') || host.contains('@') {
        return Some("is not of the form scheme:host[:port] (no //, path or user)");
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
        return Some("has a host with characters a host name cannot have");
    }
    if let Some(p) = port {
        match p.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) && !p.starts_with('+') => {}
            _ => return Some("has a port that is not a number from 1 to 65535"),
        }
    }
    None
}

impl IceServer {
    fn validate(&self, index: usize) -> Result<(), LinkError> {
        if self.urls.is_empty() {
            return Err(invalid(format!("options.iceServers[{index}].urls is empty")));
        }
        for u in &self.urls {
            let scheme = u.split(':').next().unwrap_or("").to_ascii_lowercase();
            if let Some(problem) = ice_url_problem(u) {
                return Err(invalid(format!("options.iceServers[{index}].urls: \"{}\" {problem}", clip(u))));
            }
            match scheme.as_str() {
                "stun" | "stuns" => {}
                "turn" | "turns" => {
                    if self.username.is_none() || self.credential.is_none() {
                        return Err(invalid(format!(
                            "options.iceServers[{index}]: a TURN server needs username and credential"
                        )));
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "options.iceServers[{index}].urls: \"{}\" must start with stun:, stuns:, turn: or turns:",
                        clip(u)
                    )))
                }
            }
        }
        Ok(())
    }
}

impl Options {
    /// Validates raw options. Errors have code `invalid-option` and name the field. Takes
    /// them by reference and copies out what it keeps only at the end, so the many error
    /// exits have nothing to drop (each exit's drop code cost wasm bytes).
    #[inline(never)]
    pub fn validate(raw: &RawOptions) -> Result<Options, LinkError> {
        let url = raw
            .url
            .as_deref()
            .ok_or_else(|| invalid("options.url is required: the WHIP endpoint to POST the SDP offer to".into()))?;
        validate_endpoint(url)?;

        let no_servers = Vec::new();
        let ice_servers = raw.ice_servers.as_ref().unwrap_or(&no_servers);
        for (i, s) in ice_servers.iter().enumerate() {
            s.validate(i)?;
        }

        if raw.token == Some(RawToken::Text(String::new())) {
            return Err(invalid("options.token is an empty string: pass the token, or omit it".into()));
        }
        let no_audio = RawAudio::default();
        let a = raw.audio.as_ref().unwrap_or(&no_audio);
        let defaults = AudioOptions::default();
        let channel_count = match a.channel_count {
            None => defaults.channel_count,
            Some(c) if c == 1.0 || c == 2.0 => c as u8,
            Some(c) => return Err(invalid(format!("options.audio.channelCount must be 1 or 2, got {}", num(c)))),
        };
        let audio = AudioOptions {
            echo_cancellation: a.echo_cancellation.unwrap_or(defaults.echo_cancellation),
            noise_suppression: a.noise_suppression.unwrap_or(defaults.noise_suppression),
            auto_gain_control: a.auto_gain_control.unwrap_or(defaults.auto_gain_control),
            channel_count,
            device_id: a.device_id.clone().filter(|d| !d.is_empty()),
        };

        let connect_timeout_ms =
            millis(raw.connect_timeout_ms, "connectTimeoutMs", 1, MAX_CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS)?;
        let fade_out_ms = millis(raw.fade_out_ms, "fadeOutMs", 0, MAX_FADE_OUT_MS, DEFAULT_FADE_OUT_MS)?;
        let on_hidden = match raw.visibility.as_deref() {
            None | Some("disconnect") => HiddenPolicy::Disconnect,
            Some("none") => HiddenPolicy::None,
            Some(other) => {
                return Err(invalid(format!("options.visibility must be \"disconnect\" or \"none\", got \"{}\"", clip(other))))
            }
        };
        let visibility = VisibilityPolicy {
            on_hidden,
            grace_ms: millis(raw.visibility_grace_ms, "visibilityGraceMs", 0, MAX_VISIBILITY_GRACE_MS, 0)?,
            resume_on_visible: raw.resume_on_visible.unwrap_or(false),
        };

        let protocol = match &raw.signaling {
            None => Protocol::Whip,
            Some(RawSignaling::Name(n)) => match n.as_str() {
                "whip" => Protocol::Whip,
                "openai" => Protocol::OpenAi,
                "pipecat" => Protocol::Pipecat,
                other => {
                    return Err(invalid(format!(
                        "options.signaling must be \"whip\", \"openai\", \"pipecat\" or an object with an offer() function, got \"{}\"",
                        clip(other)
                    )))
                }
            },
            Some(RawSignaling::Custom { restart, hangup }) => Protocol::Custom { restart: *restart, hangup: *hangup },
        };
        if raw.request_data.is_some() && protocol != Protocol::Pipecat {
            return Err(invalid("options.requestData is for signaling: \"pipecat\" only".into()));
        }
        let data_channel_label = match raw.data_channel_label.as_deref() {
            None if protocol == Protocol::OpenAi => OPENAI_DATA_CHANNEL_LABEL,
            None => DEFAULT_DATA_CHANNEL_LABEL,
            Some(l) if !l.is_empty() && l.len() <= 65_535 => l,
            Some(_) => return Err(invalid("options.dataChannelLabel must be a non-empty string".into())),
        };

        let reconnect = match raw.reconnect.as_deref() {
            None | Some("manual") => ReconnectPolicy::Manual,
            Some("auto") => ReconnectPolicy::Auto,
            Some(other) => {
                return Err(invalid(format!("options.reconnect must be \"manual\" or \"auto\", got \"{}\"", clip(other))))
            }
        };
        let defaults = Backoff::default();
        let base_ms = millis(raw.reconnect_base_ms, "reconnectBaseMs", 1, 600_000, defaults.base_ms)?;
        let cap_ms = millis(raw.reconnect_cap_ms, "reconnectCapMs", 1, 3_600_000, defaults.cap_ms)?;
        if cap_ms < base_ms {
            return Err(invalid(format!("options.reconnectCapMs ({cap_ms}) must not be below reconnectBaseMs ({base_ms})")));
        }
        let attempts = count(raw.reconnect_attempts, "reconnectAttempts", 1, 1000, defaults.attempts)?;
        let spread_ms = millis(raw.reconnect_spread_ms, "reconnectSpreadMs", 0, 600_000, defaults.spread_ms)?;
        let backoff = Backoff { base_ms, cap_ms, attempts, spread_ms, jitter: true };
        let session_grace_ms =
            millis(raw.session_grace_ms, "sessionGraceMs", 0, 86_400_000, DEFAULT_SESSION_GRACE_MS)?;
        let outage_timeout_ms =
            millis(raw.outage_timeout_ms, "outageTimeoutMs", 200, 60_000, DEFAULT_OUTAGE_TIMEOUT_MS)?;
        let outbox_capacity = count(raw.outbox_capacity, "outboxCapacity", 0, 100_000, DEFAULT_OUTBOX_CAPACITY)?;
        let stats_interval_ms =
            millis(raw.stats_interval_ms, "statsIntervalMs", 100, 60_000, DEFAULT_STATS_INTERVAL_MS)?;
        let d = QualityThresholds::default();
        let quality = QualityThresholds {
            rtt_ms: thresholds(raw.quality_rtt_ms.as_deref(), "qualityRttMs", d.rtt_ms)?,
            loss_pct: thresholds(raw.quality_loss_pct.as_deref(), "qualityLossPct", d.loss_pct)?,
            jitter_ms: thresholds(raw.quality_jitter_ms.as_deref(), "qualityJitterMs", d.jitter_ms)?,
        };
        let speaking_threshold = match raw.speaking_threshold {
            None => DEFAULT_SPEAKING_THRESHOLD,
            Some(t) if t.is_finite() && t > 0.0 && t < 1.0 => t,
            Some(t) => return Err(invalid(format!("options.speakingThreshold must be a level between 0 and 1, got {}", num(t)))),
        };
        let speaking_hang_ms = millis(raw.speaking_hang_ms, "speakingHangMs", 0, 10_000, DEFAULT_SPEAKING_HANG_MS)?;
        let control = match &raw.control {
            Some(c) => Some(c.validate()?),
            None => None,
        };
        Ok(Options {
            url: url.to_string(),
            protocol,
            ice_servers: ice_servers.clone(),
            audio,
            connect_timeout_ms,
            data_channel_label: data_channel_label.to_string(),
            fade_out_ms,
            visibility,
            reconnect,
            backoff,
            session_grace_ms,
            outage_timeout_ms,
            outbox_capacity,
            stats_interval_ms,
            quality,
            speaking_threshold,
            speaking_hang_ms,
            profile: raw.profile.unwrap_or(false),
            control,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawOptions {
        RawOptions { url: Some(url.into()), ..Default::default() }
    }

    #[test]
    fn defaults_are_voice_friendly() {
        let o = Options::validate(&raw("https://example.com/whip")).unwrap();
        assert_eq!(o.audio, AudioOptions::default());
        assert!(o.audio.echo_cancellation && o.audio.noise_suppression && o.audio.auto_gain_control);
        assert_eq!(o.audio.channel_count, 1);
        assert_eq!(o.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
        assert_eq!(o.data_channel_label, "events");
    }

    #[test]
    fn url_is_required_and_must_be_http() {
        let e = Options::validate(&RawOptions::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOption);
        assert!(e.message.contains("options.url"));
        for bad in ["ftp://x/whip", "ws://x/whip", "whip", "", "http://", "https:///path"] {
            let e = Options::validate(&raw(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidOption, "{bad}");
        }
        for good in ["http://127.0.0.1:7878/whip", "HTTPS://Example.com/v1/realtime?model=x"] {
            assert!(Options::validate(&raw(good)).is_ok(), "{good}");
        }
    }

    #[test]
    fn timeout_bounds() {
        for bad in [0.0, -5.0, f64::NAN, f64::INFINITY, 600_001.0] {
            let r = RawOptions { connect_timeout_ms: Some(bad), ..raw("http://h/w") };
            let e = Options::validate(&r).unwrap_err();
            assert!(e.message.contains("connectTimeoutMs"), "{bad}: {}", e.message);
        }
        let r = RawOptions { connect_timeout_ms: Some(2500.4), ..raw("http://h/w") };
        assert_eq!(Options::validate(&r).unwrap().connect_timeout_ms, 2500);
    }

    #[test]
    fn ice_servers_checked() {
        let stun = IceServer { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None };
        let turn_no_cred = IceServer { urls: vec!["turn:t.example.org".into()], username: None, credential: None };
        let http = IceServer { urls: vec!["http://nope".into()], username: None, credential: None };
        let ok = RawOptions { ice_servers: Some(vec![stun.clone()]), ..raw("http://h/w") };
        assert_eq!(Options::validate(&ok).unwrap().ice_servers, vec![stun]);
        let bare = |u: &str| IceServer { urls: vec![u.into()], username: None, credential: None };
        for good in ["stun:1.2.3.4", "stuns:h.example:5349", "stun:[::1]:3478", "STUN:h"] {
            assert_eq!(ice_url_problem(good), None, "{good}");
        }
        assert_eq!(ice_url_problem("turn:t.example?transport=tcp"), None);
        for bad in ["stun:", "stun::3478", "stun:h:0", "stun:h:70000", "stun:h:x", "stun://h", "stun:h?transport=udp",
            "turn:h?transport=sctp", "stun:[::1", "stun:h o", "stun:u@h", "stun:[]"]
        {
            assert!(ice_url_problem(bad).is_some(), "{bad} accepted");
            let r = RawOptions { ice_servers: Some(vec![bare(bad)]), ..raw("http://h/w") };
            let e = Options::validate(&r).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidOption);
            assert!(e.message.contains("iceServers[0].urls"), "{}", e.message);
        }
        for bad in [turn_no_cred, http, IceServer { urls: vec![], username: None, credential: None }] {
            let r = RawOptions { ice_servers: Some(vec![bad]), ..raw("http://h/w") };
            let e = Options::validate(&r).unwrap_err();
            assert!(e.message.contains("iceServers[0]"), "{}", e.message);
        }
    }

    #[test]
    fn fade_and_visibility() {
        let o = Options::validate(&raw("http://h/w")).unwrap();
        assert_eq!(o.fade_out_ms, 20);
        assert_eq!(o.visibility, VisibilityPolicy::default());
        let r = RawOptions {
            fade_out_ms: Some(0.0),
            visibility: Some("none".into()),
            visibility_grace_ms: Some(1500.0),
            resume_on_visible: Some(true),
            ..raw("http://h/w")
        };
        let o = Options::validate(&r).unwrap();
        assert_eq!(o.fade_out_ms, 0);
        assert_eq!(o.visibility, VisibilityPolicy { on_hidden: HiddenPolicy::None, grace_ms: 1500, resume_on_visible: true });
        let bad = RawOptions { visibility: Some("pause".into()), ..raw("http://h/w") };
        assert!(Options::validate(&bad).unwrap_err().message.contains("options.visibility"));
        let bad = RawOptions { fade_out_ms: Some(5000.0), ..raw("http://h/w") };
        assert!(Options::validate(&bad).unwrap_err().message.contains("fadeOutMs"));
        let bad = RawOptions { visibility_grace_ms: Some(-1.0), ..raw("http://h/w") };
        assert!(Options::validate(&bad).unwrap_err().message.contains("visibilityGraceMs"));
    }

    #[test]
    fn reconnect_options() {
        let o = Options::validate(&raw("http://h/w")).unwrap();
        assert_eq!(o.reconnect, ReconnectPolicy::Manual);
        assert_eq!(o.backoff, Backoff::default());
        assert_eq!((o.session_grace_ms, o.outage_timeout_ms, o.outbox_capacity), (300_000, 1_500, 100));
        let r = RawOptions {
            reconnect: Some("auto".into()),
            reconnect_base_ms: Some(500.0),
            reconnect_cap_ms: Some(8000.0),
            reconnect_attempts: Some(3.0),
            ..raw("http://h/w")
        };
        let o = Options::validate(&r).unwrap();
        assert_eq!(o.reconnect, ReconnectPolicy::Auto);
        assert_eq!(o.backoff, Backoff { base_ms: 500, cap_ms: 8000, attempts: 3, ..Backoff::default() });
        for (bad, field) in [
            (RawOptions { reconnect: Some("sometimes".into()), ..raw("http://h/w") }, "options.reconnect"),
            (RawOptions { reconnect_attempts: Some(2.5), ..raw("http://h/w") }, "reconnectAttempts"),
            (RawOptions { reconnect_base_ms: Some(5000.0), reconnect_cap_ms: Some(1000.0), ..raw("http://h/w") }, "reconnectCapMs"),
            (RawOptions { outage_timeout_ms: Some(10.0), ..raw("http://h/w") }, "outageTimeoutMs"),
            (RawOptions { outbox_capacity: Some(-1.0), ..raw("http://h/w") }, "outboxCapacity"),
        ] {
            let e = Options::validate(&bad).unwrap_err();
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    #[test]
    fn quality_options() {
        let o = Options::validate(&raw("http://h/w")).unwrap();
        assert_eq!(o.quality, QualityThresholds::default());
        assert_eq!(o.stats_interval_ms, 1000);
        let r = RawOptions { quality_rtt_ms: Some(vec![30.0, 80.0]), stats_interval_ms: Some(500.0), ..raw("http://h/w") };
        let o = Options::validate(&r).unwrap();
        assert_eq!(o.quality.rtt_ms, Thresholds { excellent: 30.0, good: 80.0 });
        for bad in [vec![100.0, 50.0], vec![50.0], vec![0.0, 10.0], vec![1.0, f64::NAN]] {
            let r = RawOptions { quality_rtt_ms: Some(bad), ..raw("http://h/w") };
            assert!(Options::validate(&r).unwrap_err().message.contains("qualityRttMs"));
        }
    }

    #[test]
    fn control_options() {
        assert_eq!(Options::validate(&raw("http://h/w")).unwrap().control, None, "no control channel unless asked");
        let c = RawControl { url: Some("ws://h/control".into()), ..Default::default() };
        let o = Options::validate(&RawOptions { control: Some(c), ..raw("http://h/w") }).unwrap().control.unwrap();
        assert_eq!((o.heartbeat_ms, o.heartbeat_timeout_ms, o.backoff.base_ms), (30_000, 65_000, 5_000));
        for (bad, field) in [
            (RawControl::default(), "control.url"),
            (RawControl { url: Some("http://h/c".into()), ..Default::default() }, "control.url"),
            (RawControl { url: Some("ws://h".into()), heartbeat_ms: Some(5.0), ..Default::default() }, "heartbeatMs"),
        ] {
            let e = Options::validate(&RawOptions { control: Some(bad), ..raw("http://h/w") }).unwrap_err();
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    #[test]
    fn channel_count_is_one_or_two() {
        let audio = |c| Some(RawAudio { channel_count: Some(c), ..Default::default() });
        let r = RawOptions { audio: audio(3.0), ..raw("http://h/w") };
        let e = Options::validate(&r).unwrap_err();
        assert!(e.message.contains("channelCount") && e.message.ends_with("got 3"), "{}", e.message);
        let r = RawOptions { audio: audio(2.0), ..raw("http://h/w") };
        assert_eq!(Options::validate(&r).unwrap().audio.channel_count, 2);
    }
}
