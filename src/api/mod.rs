//! The JS surface: the `VoiceLink` class.

mod options;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::{EndReason, ErrorCode, LinkError};
use crate::driver::Link;
use crate::platform::js::js_error;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Stable error codes: the `code` property of every error voicelink throws or rejects with. */
export type VoiceLinkErrorCode =
  | "invalid-option" | "invalid-argument" | "unsupported" | "token-failed"
  | "mic-denied" | "mic-unavailable" | "peer-connection"
  | "signaling-network" | "signaling-http" | "signaling-answer"
  | "connect-timeout" | "ice-failed" | "aborted" | "not-connected" | "disposed" | "no-session";

/** The Error voicelink throws and rejects with (`name` is `"VoiceLinkError"`). */
export interface VoiceLinkError extends Error {
  code: VoiceLinkErrorCode;
  /** HTTP status of the WHIP response, for `signaling-http` only. */
  status?: number;
}

/** One ICE server (W3C `RTCIceServer`). */
export interface VoiceLinkIceServer { urls: string | string[]; username?: string; credential?: string; }

/** Options of `new VoiceLink(options)`. Unknown keys are rejected with `invalid-option`. */
export interface VoiceLinkOptions {
  /** WHIP endpoint (RFC 9725) the SDP offer is POSTed to: an http(s) URL, relative URLs resolve against the page. */
  url: string;
  /** Bearer token: a string, or a function returning a string or a Promise of one (called on every connect: ephemeral tokens). */
  token?: string | (() => string | Promise<string>);
  /** ICE servers for the peer connection (default: none). */
  iceServers?: VoiceLinkIceServer[];
  /** Microphone constraints; echo cancellation, noise suppression and auto gain default to true, channelCount to 1 (mono). */
  audio?: { echoCancellation?: boolean; noiseSuppression?: boolean; autoGainControl?: boolean; channelCount?: 1 | 2; deviceId?: string };
  /** Milliseconds `connect()` may take before it rejects with `connect-timeout` (default 15000, 1..600000). */
  connectTimeoutMs?: number;
  /** Label of the data channel for app events (default "events"). */
  dataChannelLabel?: string;
  /** Milliseconds over which remote audio fades to silence on teardown, so hanging up makes no pop (default 20, 0..1000). */
  fadeOutMs?: number;
  /** What to do when the page is hidden (Page Visibility API): "disconnect" (default; the microphone is released) or "none". */
  visibility?: "disconnect" | "none";
  /** Milliseconds the page may stay hidden before the link disconnects (default 0: at once; 0..600000). */
  visibilityGraceMs?: number;
  /** Reconnect when the page is shown again after a visibility disconnect (default false). */
  resumeOnVisible?: boolean;
  /** When the transport is lost: "manual" (default; status "interrupted", the session is kept, call `reconnect()`) or "auto" (retry with exponential backoff and full jitter). */
  reconnect?: "manual" | "auto";
  /** Automatic policy: attempt n waits uniformly in [0, min(cap, max(spread, base * 2^(n-1)))] ms; base default 1000 (seed 004: 1, 2, 4, 8, 16, 30 s). */
  reconnectBaseMs?: number;
  /** Automatic policy: smallest upper bound of any backoff wait, ms (default 5000), so a fleet that lost its server at once does not return at once; 0 gives the plain seed schedule. */
  reconnectSpreadMs?: number;
  /** Automatic policy: largest backoff wait, ms (default 30000). */
  reconnectCapMs?: number;
  /** Automatic policy: attempts before status "failed" (default 10). */
  reconnectAttempts?: number;
  /** How long the server keeps a session after its transport is lost, ms (default 300000): within it a reconnect is an ICE restart of the same session, after it a fresh session. */
  sessionGraceMs?: number;
  /** No byte received on the transport for this long (ms) counts as an outage (default 1500, 200..60000); Chromium itself only says "disconnected" after about 5 s. */
  outageTimeoutMs?: number;
  /** Messages `send()` keeps while the data channel is not open, oldest dropped first (default 100). */
  outboxCapacity?: number;
  /** Milliseconds between quality samples from getStats() (default 1000, 100..60000). */
  statsIntervalMs?: number;
  /** RTT grading thresholds in ms, [excellentBelow, goodBelow] (default [50, 100], seed 003); RTT from the selected candidate pair's `currentRoundTripTime` (seconds in webrtc-stats, converted). */
  qualityRttMs?: [number, number];
  /** Packet loss grading thresholds in %, from inbound-rtp packetsLost/packetsReceived deltas (default [1, 5]). */
  qualityLossPct?: [number, number];
  /** Jitter grading thresholds in ms, from inbound-rtp `jitter` (seconds, converted) (default [20, 50]). */
  qualityJitterMs?: [number, number];
  /** Microphone level (smoothed RMS, 0..1) at or above which `isSpeaking` is true (default 0.02). */
  speakingThreshold?: number;
  /** Milliseconds `isSpeaking` stays true after the level drops (default 300). */
  speakingHangMs?: number;
  /** Record each stats and level-meter tick as a User Timing measure ("voicelink:stats-tick", "voicelink:meter-tick") for profilers (default false). */
  profile?: boolean;
  /** An optional control WebSocket beside the media connection (seed 003): opened once the media session exists, announcing `{"type":"session_info","session_id":…}`; absent → no WebSocket. */
  control?: {
    /** ws: or wss: URL (relative URLs resolve against the page, http → ws). */
    url: string;
    /** Heartbeat `{"type":"ping","ts":…}` interval, ms (default 30000). */
    heartbeatMs?: number;
    /** No message received for this long (ms) is an outage: close (4000) and reconnect (default 2 × heartbeatMs + 5000). */
    heartbeatTimeoutMs?: number;
    /** Reconnect after an abnormal close: attempt n waits uniformly in [0, min(cap, base * 2^(n-1))] ms (base default 5000, seed 003). */
    reconnectBaseMs?: number;
    /** Largest reconnect wait, ms (default 30000). */
    reconnectCapMs?: number;
    /** Reconnect attempts before giving up (default 10). */
    reconnectAttempts?: number;
    /** Messages `sendControl()` keeps while the socket is down, oldest dropped first (default 100). */
    outboxCapacity?: number;
  };
}

/** What `getSnapshot()` returns: a frozen object, the same object until something changes. */
export interface VoiceLinkSnapshot {
  readonly status: "idle" | "connecting" | "connected" | "interrupted" | "reconnecting" | "disconnected" | "failed";
  /** While connecting: the step it is on. */
  readonly phase: "token" | "microphone" | "offer" | "signaling" | "ice" | null;
  /** WHIP session id: the `X-Session-ID` response header, else the last segment of the `Location` URL. */
  readonly sessionId: string | null;
  /** WHIP session URL (the resolved `Location`). */
  readonly sessionUrl: string | null;
  /** The error that ended the link (status "failed"). */
  readonly error: { code: VoiceLinkErrorCode; message: string; status: number | null } | null;
  /** Why the link ended: disconnect(), dispose(), an error, the server (`{"type":"session.ended"}` or a closed data channel), the page hidden, or pagehide/freeze. */
  readonly endReason: "user" | "disposed" | "error" | "server-ended" | "hidden" | "page-hide" | null;
  /** Milliseconds from the `connect()` call to "connected" (performance.now() clock). */
  readonly connectMs: number | null;
  /** Where the last connect's time went, ms: getUserMedia, offer + ICE gathering + WHIP POST + answer, ICE + DTLS, and the total. */
  readonly connectTimings: { micMs: number; signalingMs: number; iceMs: number; totalMs: number } | null;
  /** Quality from getStats(), smoothed (EWMA) and graded with hysteresis. `grade` is "unknown" before the first sample and while connecting, "lost" while interrupted, reconnecting or ended. `rttMs`: selected candidate pair `currentRoundTripTime` (else remote-inbound-rtp `roundTripTime`), ms; `jitterMs`: inbound-rtp `jitter`, ms; `packetLoss`: % of expected packets lost between samples; `limitedBy`: the metrics that set a "good" or "poor" grade. */
  readonly quality: {
    readonly grade: "unknown" | "excellent" | "good" | "poor" | "lost";
    readonly rttMs: number | null;
    readonly jitterMs: number | null;
    readonly packetLoss: number | null;
    readonly limitedBy: readonly ("rtt" | "packetLoss" | "jitter")[];
  };
  /** True while the browser's autoplay policy blocks remote audio: call `resumeAudio()` from a click. */
  readonly audioBlocked: boolean;
  /** Names of the teardown steps that threw in the last teardown (the others still ran); empty when all went well. */
  readonly teardownErrors: readonly string[];
  /** True when `reconnect()` would act now: show the reconnect button. */
  readonly canReconnect: boolean;
  /** While interrupted or reconnecting: ms until the server forgets the session (`sessionGraceMs` from the outage). */
  readonly graceRemainingMs: number | null;
  /** Recovery attempts made in the current outage (0 when none). */
  readonly reconnectAttempt: number;
  /** While the automatic policy waits: ms until its next attempt. */
  readonly nextRetryInMs: number | null;
  /** True when a recovery had to replace the session (the server had forgotten it). */
  readonly sessionReplaced: boolean;
  /** Messages `send()` buffered while the data channel was not open, waiting to go out. */
  readonly queuedMessages: number;
  /** Messages dropped because the outbox was full (oldest first). */
  readonly droppedMessages: number;
  /** Microphone level: smoothed RMS of the captured audio, 0..1 in steps of 0.01 (AnalyserNode, 20 readings a second while connected and visible; 0 otherwise). */
  readonly micLevel: number;
  /** Remote audio level, same measure. */
  readonly remoteLevel: number;
  /** True while micLevel is at or above `speakingThreshold`, and for `speakingHangMs` after. */
  readonly isSpeaking: boolean;
  /** The control WebSocket (options.control), or null without one. */
  readonly control: {
    readonly state: "idle" | "connecting" | "open" | "confirmed" | "reconnecting" | "closed";
    readonly queuedMessages: number;
    readonly droppedMessages: number;
    readonly reconnects: number;
  } | null;
}
"#;

/// One realtime voice link: microphone, peer connection, WHIP session, data channel and
/// remote audio, with one teardown path that releases all of it.
#[wasm_bindgen]
pub struct VoiceLink {
    link: Link,
}

fn throw(e: LinkError) -> JsValue {
    js_error(&e)
}

/// A message as text: a string as is, anything else as JSON.
fn to_text(message: &JsValue) -> Result<String, JsValue> {
    match message.as_string() {
        Some(s) => Ok(s),
        None => js_sys::JSON::stringify(message).ok().and_then(|s| s.as_string()).ok_or_else(|| {
            throw(LinkError::new(ErrorCode::InvalidArgument, "the message must be a string or a JSON-serialisable value"))
        }),
    }
}

#[wasm_bindgen]
impl VoiceLink {
    /// Validates `options` and creates an idle link; touches no browser API.
    /// Throws a `VoiceLinkError` with code `invalid-option` naming the bad field.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "VoiceLinkOptions")] options: JsValue) -> Result<VoiceLink, JsValue> {
        console_error_panic_hook::set_once();
        let _ = console_log::init_with_level(log::Level::Warn);
        let config = options::parse(&options).map_err(throw)?;
        Ok(VoiceLink { link: Link::new(config) })
    }

    /// Connects: token, microphone, peer connection, data channel, WHIP offer/answer. Resolves
    /// when the peer connection is `connected` and the data channel `open`. A second call
    /// while connecting returns the same promise; while connected, it resolves at once.
    /// Rejects with a `VoiceLinkError` (`token-failed`, `mic-denied`, `mic-unavailable`,
    /// `peer-connection`, `signaling-network`, `signaling-http`, `signaling-answer`,
    /// `connect-timeout`, `ice-failed`, `aborted`, `disposed`); on every rejection the
    /// microphone is already released and nothing is left open.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn connect(&self) -> Promise {
        self.link.connect()
    }

    /// Disconnects. The microphone tracks are stopped before this returns; remote audio fades
    /// out over `fadeOutMs`, then playback, the data channel and the peer connection are
    /// closed and the WHIP session is deleted. The promise resolves once all of that is done
    /// (it never rejects; steps that threw are listed in the snapshot's `teardownErrors`).
    /// Safe to call in any state, any number of times.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn disconnect(&self) -> Promise {
        self.link.end(EndReason::User)
    }

    /// Starts remote audio that the browser's autoplay policy blocked (snapshot
    /// `audioBlocked`). Call it from a user gesture such as a click. Resolves `true` when audio
    /// plays afterwards, `false` when it is still blocked or nothing is playing.
    #[wasm_bindgen(js_name = resumeAudio, unchecked_return_type = "Promise<boolean>")]
    pub fn resume_audio(&self) -> Promise {
        self.link.resume_audio()
    }

    /// Brings the link back after an outage (the reconnect button): an ICE restart of the same
    /// WHIP session while the grace period runs (same `sessionId`), else — or when the server
    /// answers 404 — a fresh session (`sessionReplaced` becomes true). Resolves when connected;
    /// rejects with the attempt's error (the link is then `interrupted` again, or `failed`),
    /// with `no-session` when there was never a session, `aborted` when `disconnect()` ends it.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reconnect(&self) -> Promise {
        self.link.reconnect()
    }

    /// Sends an app message on the data channel: a string as is, anything else as JSON. While
    /// connecting, interrupted or reconnecting it waits in the outbox (`outboxCapacity`, oldest
    /// dropped first) and goes out in order once the channel is open. Throws `not-connected`
    /// when idle, disconnected or failed, `invalid-argument` when the value cannot be
    /// JSON-encoded.
    pub fn send(&self, #[wasm_bindgen(unchecked_param_type = "unknown")] message: JsValue) -> Result<(), JsValue> {
        let text = to_text(&message)?;
        self.link.send_text(&text).map_err(throw)
    }

    /// Calls `listener()` after every snapshot change. Returns the function that removes it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(&self, #[wasm_bindgen(unchecked_param_type = "() => void")] listener: Function) -> Result<Function, JsValue> {
        self.link.subscribe(listener).map_err(throw)
    }

    /// The current state as a frozen object; the same object until something changes (what
    /// React's `useSyncExternalStore` needs).
    #[wasm_bindgen(js_name = getSnapshot, unchecked_return_type = "VoiceLinkSnapshot")]
    pub fn get_snapshot(&self) -> JsValue {
        self.link.snapshot()
    }

    /// Listens to link events. `"message"`: each data-channel message, parsed as JSON when it
    /// parses, else the string. `"control"`: each control-socket message as `{ type, data }`
    /// (`type` is the message's `type` string or `null`, `data` the parsed JSON). `"error"`:
    /// non-fatal problems as `{ code, message }` (`control-invalid-json`, `control-closed`,
    /// `control-timeout`, `control-failed`). Returns the function that removes the listener.
    /// Throws `invalid-argument` for an unknown event name.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"message\" | \"control\" | \"error\"")] event: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: any) => void")] listener: Function,
    ) -> Result<Function, JsValue> {
        self.link.on(event, listener).map_err(throw)
    }

    /// Sends a message on the control WebSocket (`options.control`): a string as is, anything
    /// else as JSON. While the socket is down (opening, reconnecting, or the media session not
    /// yet there) it waits in a bounded outbox and goes out after `session_info` once open.
    /// Throws `invalid-argument` without a control channel or for a value that is not JSON.
    #[wasm_bindgen(js_name = sendControl)]
    pub fn send_control(&self, #[wasm_bindgen(unchecked_param_type = "unknown")] message: JsValue) -> Result<(), JsValue> {
        let text = to_text(&message)?;
        self.link.send_control(text).map_err(throw)
    }

    /// Ends the link (like `disconnect()`) and removes every listener. Idempotent; afterwards
    /// `connect()` rejects and `send()`/`subscribe()`/`on()` throw with code `disposed`.
    pub fn dispose(&self) {
        self.link.dispose();
    }
}
