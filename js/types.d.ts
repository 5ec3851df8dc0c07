// Generated from the Rust types by ts-rs (src/core/types.rs). Do not edit: change the Rust
// type, then run `VOICELINK_WRITE_TYPES=1 cargo test -p voicelink --lib types`.

import type { VoiceLinkSignaling } from "./signaling.js";

/**
 * Options of `new VoiceLink(options)`. Every field but `url` is optional; unknown keys and
 * out-of-range values are rejected with a `VoiceLinkError` of code `invalid-option` that
 * names the field. (In Rust: the options as read from JS, before validation.)
 */
export type VoiceLinkOptions = { 
/**
 * The endpoint the SDP offer is POSTed to: an http(s) URL; relative URLs resolve against
 * the page. For WHIP (RFC 9725) the WHIP endpoint; for `"openai"` the Realtime calls URL
 * (e.g. `https://api.openai.com/v1/realtime/calls`); for `"pipecat"` the SmallWebRTC offer
 * URL (e.g. `/api/offer`). A custom `signaling` object gets it as `request.url`.
 */
url: string, 
/**
 * How the offer reaches the server: `"whip"` (default, RFC 9725), `"openai"` (OpenAI
 * Realtime over WebRTC; `token` is the ephemeral key your server minted), `"pipecat"`
 * (Pipecat SmallWebRTC), or an object for anything else (see `VoiceLinkSignaling`).
 */
signaling?: "whip" | "openai" | "pipecat" | VoiceLinkSignaling, 
/**
 * Pipecat only: sent as the offer's `request_data` (any JSON value), e.g. which bot to run.
 */
requestData?: unknown, 
/**
 * Bearer token: a string, or a function returning a string or a Promise of one (called on
 * every connect: ephemeral tokens). Sent as `Authorization: Bearer <token>`, so it must be
 * visible ASCII without spaces: otherwise `invalid-option` (a string) or `token-failed` (what
 * a function returned).
 */
token?: string | (() => string | Promise<string>), 
/**
 * ICE servers for the peer connection (W3C `RTCIceServer`; default: none, host
 * candidates only).
 */
iceServers?: Array<VoiceLinkIceServer>, 
/**
 * Which candidates the peer connection may use (`RTCConfiguration.iceTransportPolicy`,
 * W3C webrtc-pc §4.2.1): `"all"` (default) or `"relay"` (TURN only: hides the client's
 * addresses, or tests the TURN path). With `"relay"` the offer waits (up to 2 s) for the
 * first relay candidate.
 */
iceTransportPolicy?: "all" | "relay", 
/**
 * WHIP only: ask the server for its ICE servers before the offer with an `OPTIONS`
 * pre-flight (RFC 9725 §4.6, `Link: <turn:…>; rel="ice-server"`), so gathering starts
 * with them (default `false`: only the `Link` headers of the `POST`'s answer are used).
 */
iceServersFromServer?: boolean, 
/**
 * Microphone constraints for `getUserMedia`.
 */
audio?: VoiceLinkAudioOptions, 
/**
 * Milliseconds `connect()` may take before it rejects with `connect-timeout` (default
 * 15000, 1..600000).
 */
connectTimeoutMs?: number, 
/**
 * Label of the data channel for app events (default `"events"`; `"oai-events"` with
 * `signaling: "openai"`).
 */
dataChannelLabel?: string, 
/**
 * Milliseconds over which remote audio fades to silence on teardown, so hanging up makes
 * no pop (default 20, 0..1000).
 */
fadeOutMs?: number, 
/**
 * What `setMicEnabled(false)` does (default `true`): stop the capture track, so the
 * browser's microphone indicator goes off, while the uplink keeps flowing as silence;
 * unmuting captures again (same constraints and device) and swaps the track in without
 * renegotiation. `false`: `track.enabled = false` — instant, but the indicator stays on.
 */
muteReleasesMic?: boolean, 
/**
 * What to do when the page is hidden (Page Visibility API): `"disconnect"` (default; the
 * microphone is released) or `"none"`.
 */
visibility?: "disconnect" | "none", 
/**
 * Milliseconds the page may stay hidden before the link disconnects (default 0: at once;
 * 0..600000).
 */
visibilityGraceMs?: number, 
/**
 * Reconnect when the page is shown again after a visibility disconnect (default false).
 */
resumeOnVisible?: boolean, 
/**
 * When the transport is lost: `"manual"` (default; status `"interrupted"`, the session is
 * kept, call `reconnect()`) or `"auto"` (retry with exponential backoff and full jitter).
 */
reconnect?: "manual" | "auto", 
/**
 * Automatic policy: attempt n waits uniformly in [0, min(cap, max(spread, base ·
 * 2^(n-1)))] ms; base default 1000 (seed 004: 1, 2, 4, 8, 16, 30 s).
 */
reconnectBaseMs?: number, 
/**
 * Automatic policy: largest backoff wait, ms (default 30000).
 */
reconnectCapMs?: number, 
/**
 * Automatic policy: attempts before status `"failed"`, a whole number from 1 to 1000
 * (default 10); outside that range `invalid-option`.
 */
reconnectAttempts?: number, 
/**
 * Automatic policy: smallest upper bound of any backoff wait, ms (default 5000), so a
 * fleet that lost its server at once does not return at once; 0 gives the plain seed
 * schedule.
 */
reconnectSpreadMs?: number, 
/**
 * How long the server keeps a session after its transport is lost, ms (default 300000):
 * within it a reconnect is an ICE restart of the same session, after it a fresh session.
 */
sessionGraceMs?: number, 
/**
 * No byte received on the transport for this long (ms) counts as an outage (default 1500,
 * 200..60000); Chromium itself only says "disconnected" after about 5 s.
 */
outageTimeoutMs?: number, 
/**
 * Messages `send()` keeps while the data channel is not open, oldest dropped first
 * (default 100).
 */
outboxCapacity?: number, 
/**
 * Milliseconds between quality samples from `getStats()` (default 1000, 100..60000).
 */
statsIntervalMs?: number, 
/**
 * RTT grading thresholds in ms, `[excellentBelow, goodBelow]` (default [50, 100], seed
 * 003); RTT from the selected candidate pair's `currentRoundTripTime` (seconds in
 * webrtc-stats, converted).
 */
qualityRttMs?: [number, number], 
/**
 * Packet loss grading thresholds in %, from inbound-rtp packetsLost/packetsReceived
 * deltas (default [1, 5]).
 */
qualityLossPct?: [number, number], 
/**
 * Jitter grading thresholds in ms, from inbound-rtp `jitter` (seconds, converted)
 * (default [20, 50]).
 */
qualityJitterMs?: [number, number], 
/**
 * Microphone level (smoothed RMS, 0..1) at or above which `isSpeaking` is true (default
 * 0.02).
 */
speakingThreshold?: number, 
/**
 * Milliseconds `isSpeaking` stays true after the level drops (default 300).
 */
speakingHangMs?: number, 
/**
 * Record each stats and level-meter tick as a User Timing measure
 * (`"voicelink:stats-tick"`, `"voicelink:meter-tick"`) for profilers (default false).
 */
profile?: boolean, 
/**
 * An optional control WebSocket beside the media connection (seed 003): opened once the
 * media session exists, announcing `{"type":"session_info","session_id":…}`; absent → no
 * WebSocket.
 */
control?: VoiceLinkControlOptions, };

/**
 * `audio`: microphone constraints. Echo cancellation, noise suppression and auto gain
 * default to true, `channelCount` to 1 (mono).
 */
export type VoiceLinkAudioOptions = { 
/**
 * `echoCancellation` constraint (default true).
 */
echoCancellation?: boolean, 
/**
 * `noiseSuppression` constraint (default true).
 */
noiseSuppression?: boolean, 
/**
 * `autoGainControl` constraint (default true).
 */
autoGainControl?: boolean, 
/**
 * `channelCount` constraint: 1 (default, mono) or 2.
 */
channelCount?: 1 | 2, 
/**
 * `deviceId` constraint (exact), from `enumerateDevices()`; absent: the default
 * microphone.
 */
deviceId?: string, };

/**
 * One ICE server, as in `RTCIceServer` (W3C webrtc-pc): `urls` with a `stun:`, `stuns:`,
 * `turn:` or `turns:` scheme, and for TURN a username and credential.
 */
export type VoiceLinkIceServer = { 
/**
 * One or more server URLs.
 */
urls: string | string[], 
/**
 * TURN username.
 */
username?: string, 
/**
 * TURN credential.
 */
credential?: string, };

/**
 * `control`: the control WebSocket, before validation. `url` is already resolved against the
 * page (http → ws).
 */
export type VoiceLinkControlOptions = { 
/**
 * `ws:` or `wss:` URL (relative URLs resolve against the page, http → ws).
 */
url: string, 
/**
 * Heartbeat `{"type":"ping","ts":…}` interval, ms (default 30000).
 */
heartbeatMs?: number, 
/**
 * No message received for this long (ms) is an outage: close (4000) and reconnect
 * (default 2 × heartbeatMs + 5000).
 */
heartbeatTimeoutMs?: number, 
/**
 * Reconnect after an abnormal close: attempt n waits uniformly in [0, min(cap, base ·
 * 2^(n-1))] ms (base default 5000, seed 003).
 */
reconnectBaseMs?: number, 
/**
 * Largest reconnect wait, ms (default 30000).
 */
reconnectCapMs?: number, 
/**
 * Reconnect attempts before giving up (default 10).
 */
reconnectAttempts?: number, 
/**
 * Messages `sendControl()` keeps while the socket is down, oldest dropped first (default
 * 100).
 */
outboxCapacity?: number, };

/**
 * What `getSnapshot()` returns: a frozen object, the same object until something changes
 * (what React's `useSyncExternalStore` needs). camelCase in JS; absent values are `null`.
 */
export type VoiceLinkSnapshot = { 
/**
 * `"idle" | "connecting" | "connected" | "interrupted" | "reconnecting" | "disconnected" | "failed"`.
 */
status: VoiceLinkStatus, 
/**
 * While connecting: `"token" | "microphone" | "offer" | "signaling" | "ice"`.
 */
phase: VoiceLinkConnectPhase | null, 
/**
 * The WHIP session id (from `X-Session-ID`, else the `Location` URL's last segment).
 */
sessionId: string | null, 
/**
 * The WHIP session URL (resolved `Location`).
 */
sessionUrl: string | null, 
/**
 * The error that ended the link, when `status` is `"failed"`.
 */
error: VoiceLinkErrorInfo | null, 
/**
 * Why the link ended: `"user" | "disposed" | "error" | "server-ended" | "hidden" | "page-hide"`.
 */
endReason: VoiceLinkEndReason | null, 
/**
 * Milliseconds from the `connect()` call to `connected` (performance.now() clock).
 */
connectMs: number | null, 
/**
 * Where the last connect's time went: `{ micMs, signalingMs, iceMs, totalMs }`.
 */
connectTimings: VoiceLinkConnectTimings | null, 
/**
 * Connection quality from `getStats()`: `{ grade, rttMs, jitterMs, packetLoss, limitedBy }`.
 * `grade` is `"unknown"` before the first sample and while connecting, `"lost"` while
 * interrupted, reconnecting or ended.
 */
quality: VoiceLinkQuality, 
/**
 * `true` while the browser's autoplay policy blocks remote audio; call `resumeAudio()`
 * from a user gesture.
 */
audioBlocked: boolean, 
/**
 * Teardown steps that threw in the last teardown (the others still ran), e.g.
 * `["data channel"]`; empty when all went well.
 */
teardownErrors: Array<string>, 
/**
 * `true` when `reconnect()` would act now: show the reconnect button.
 */
canReconnect: boolean, 
/**
 * While interrupted or reconnecting: ms until the server forgets the session
 * (`sessionGraceMs` from the outage); `null` otherwise.
 */
graceRemainingMs: number | null, 
/**
 * Recovery attempts made in the current outage (0 when none).
 */
reconnectAttempt: number, 
/**
 * While the automatic policy waits: ms until its next attempt; `null` otherwise.
 */
nextRetryInMs: number | null, 
/**
 * `true` when a recovery had to replace the session (the server had forgotten it).
 */
sessionReplaced: boolean, 
/**
 * Messages `send()` buffered while the data channel was not open, waiting.
 */
queuedMessages: number, 
/**
 * Messages dropped because the outbox was full (oldest first), since the link was created.
 */
droppedMessages: number, 
/**
 * Microphone level: RMS of the captured audio, smoothed, 0..1 in steps of 0.01 (Web Audio
 * AnalyserNode, ~20 readings a second while connected and visible).
 */
micLevel: number, 
/**
 * Remote audio level, same measure.
 */
remoteLevel: number, 
/**
 * `true` while the microphone level is at or above `speakingThreshold`, and for
 * `speakingHangMs` after.
 */
isSpeaking: boolean, 
/**
 * `false` while the app muted the microphone (`setMicEnabled(false)`) or it was lost with
 * nothing to take over. With `muteReleasesMic` (default) the capture track is stopped
 * while muted (the browser's mic indicator is off) and the uplink carries silence.
 */
micEnabled: boolean, 
/**
 * The microphone the app chose (`setMicrophone`, or `audio.deviceId`): a `deviceId` from
 * `listMicrophones()`, or `"default"` (the system default, followed on `devicechange`).
 */
micDeviceId: string, 
/**
 * `false` after the browser's `offline` event until `online` (`true` before any: a page
 * whose only network is loopback reads `navigator.onLine` false yet connects): the outage is declared at once; after `online` the automatic policy attempts at
 * once, the manual one shows `canReconnect` ("Reconnect now").
 */
networkOnline: boolean, 
/**
 * The control WebSocket, when `options.control` is set; `null` otherwise.
 */
control: VoiceLinkControlView | null, };

/**
 * Where the link is: the snapshot's `status` (lowercase).
 */
export type VoiceLinkStatus = "idle" | "connecting" | "connected" | "interrupted" | "reconnecting" | "disconnected" | "failed";

/**
 * The step `connect()` is on, in the order it runs them: the snapshot's `phase` (lowercase).
 */
export type VoiceLinkConnectPhase = "token" | "microphone" | "offer" | "signaling" | "ice";

/**
 * Why the link ended: the snapshot's `endReason` (kebab-case).
 */
export type VoiceLinkEndReason = "user" | "disposed" | "error" | "server-ended" | "hidden" | "page-hide";

/**
 * Where the time of the last connect went, in ms (from `connect()` to `connected`).
 */
export type VoiceLinkConnectTimings = { 
/**
 * `getUserMedia` (the microphone phase).
 */
micMs: number, 
/**
 * Peer connection, offer, ICE gathering, the WHIP POST and the answer.
 */
signalingMs: number, 
/**
 * ICE connectivity and the DTLS handshake, until `connected` with the channel open.
 */
iceMs: number, 
/**
 * From the `connect()` call to `connected` (includes the token).
 */
totalMs: number, };

/**
 * The snapshot's `error`: `{ code, message, status }`.
 */
export type VoiceLinkErrorInfo = { 
/**
 * Stable error code, e.g. `"signaling-http"`.
 */
code: VoiceLinkErrorCode, 
/**
 * What went wrong and what to do.
 */
message: string, 
/**
 * HTTP status for `signaling-http`, else `null`.
 */
status: number | null, };

/**
 * The snapshot's `quality`: from `getStats()`, smoothed (EWMA) and graded with hysteresis.
 */
export type VoiceLinkQuality = { 
/**
 * The grade, with hysteresis: `"unknown"` before the first sample and while connecting,
 * `"lost"` while interrupted, reconnecting or ended; else from the thresholds
 * (`qualityRttMs`, `qualityLossPct`, `qualityJitterMs`).
 */
grade: VoiceLinkGrade, 
/**
 * RTT in milliseconds, smoothed (EWMA) and rounded to 0.1 ms: the selected candidate
 * pair's `currentRoundTripTime` (seconds, W3C webrtc-stats), else remote-inbound-rtp
 * `roundTripTime`; `null` before the first sample.
 */
rttMs: number | null, 
/**
 * Jitter in milliseconds, smoothed and rounded to 0.1 ms: inbound-rtp `jitter` (seconds,
 * W3C webrtc-stats); `null` before the first sample.
 */
jitterMs: number | null, 
/**
 * Packet loss in %, smoothed and rounded to 0.01: inbound-rtp `packetsLost` over the
 * packets expected (`packetsLost` + `packetsReceived`) between two samples; `null` before
 * the second sample.
 */
packetLoss: number | null, 
/**
 * The metrics that set a `"good"` or `"poor"` grade (those at the worst level); empty
 * otherwise.
 */
limitedBy: Array<VoiceLinkMetric>, };

/**
 * The quality grade: the snapshot's `quality.grade` (lowercase).
 */
export type VoiceLinkGrade = "unknown" | "excellent" | "good" | "poor" | "lost";

/**
 * A graded metric: an entry of the snapshot's `quality.limitedBy` (`"rtt"`, `"packetLoss"`,
 * `"jitter"`).
 */
export type VoiceLinkMetric = "rtt" | "packetLoss" | "jitter";

/**
 * The snapshot's `control`: the control WebSocket.
 */
export type VoiceLinkControlView = { 
/**
 * `"idle" | "connecting" | "open" | "confirmed" | "reconnecting" | "closed"`.
 */
state: VoiceLinkControlState, 
/**
 * Messages `sendControl()` buffered while the socket was down.
 */
queuedMessages: number, 
/**
 * Messages dropped because the control outbox was full.
 */
droppedMessages: number, 
/**
 * Reconnects since the link connected.
 */
reconnects: number, };

/**
 * The control channel's state: the snapshot's `control.state` (lowercase).
 */
export type VoiceLinkControlState = "idle" | "connecting" | "open" | "confirmed" | "reconnecting" | "closed";

/**
 * A stable error code. Its string form (`as_str`) is the `code` property of the JS
 * `Error` the library throws or rejects with, and never changes between versions.
 */
export type VoiceLinkErrorCode = "invalid-option" | "invalid-argument" | "unsupported" | "token-failed" | "mic-denied" | "mic-unavailable" | "mic-lost" | "peer-connection" | "signaling-network" | "signaling-http" | "unauthorized" | "signaling-answer" | "connect-timeout" | "ice-failed" | "aborted" | "not-connected" | "disposed" | "no-session" | "send-failed" | "control-invalid-json" | "control-closed" | "control-timeout" | "control-failed";
