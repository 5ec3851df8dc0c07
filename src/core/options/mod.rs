//! Validated link options. The JS boundary parses a plain object into [`RawOptions`]
//! (`raw.rs`, the shape the generated TypeScript types describe) and [`Options::validate`]
//! checks it (field rules in `check.rs`) before anything in the browser is touched.

mod check;
mod raw;
#[cfg(test)]
mod tests;

pub use check::{ice_url_problem, token_problem, validate_endpoint};
use check::{clip, count, invalid, millis, thresholds};
pub use raw::{RawAudio, RawControl, RawOptions, RawToken};

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
    /// `iceTransportPolicy: "relay"`: relay candidates only.
    pub relay_only: bool,
    /// `iceServersFromServer`: the WHIP `OPTIONS` pre-flight before the offer.
    pub ice_servers_from_server: bool,
    /// Microphone constraints.
    pub audio: AudioOptions,
    /// How long `connect()` may take, in milliseconds, from the call to `connected`.
    pub connect_timeout_ms: u32,
    /// Label of the data channel the link opens for app events.
    pub data_channel_label: String,
    /// Playback fade-out on teardown, in ms (0 = none).
    pub fade_out_ms: u32,
    /// A mute stops the capture track (the uplink carries silence) instead of disabling it.
    pub mute_releases_mic: bool,
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

        let relay_only = match raw.ice_transport_policy.as_deref() {
            None | Some("all") => false,
            Some("relay") => true,
            Some(other) => return Err(invalid(format!("options.iceTransportPolicy must be \"all\" or \"relay\", got \"{}\"", clip(other)))),
        };
        let ice_servers_from_server = raw.ice_servers_from_server.unwrap_or(false);
        if let Some(RawToken::Text(t)) = &raw.token {
            if let Some(problem) = token_problem(t) {
                return Err(invalid(["options.token ", problem, ": pass the token as issued, or omit it"].concat()));
            }
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
        if ice_servers_from_server && protocol != Protocol::Whip {
            return Err(invalid("options.iceServersFromServer is for signaling: \"whip\" only (an OPTIONS pre-flight)".into()));
        }
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
            relay_only,
            ice_servers_from_server,
            audio,
            connect_timeout_ms,
            data_channel_label: data_channel_label.to_string(),
            fade_out_ms,
            mute_releases_mic: raw.mute_releases_mic.unwrap_or(true),
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

