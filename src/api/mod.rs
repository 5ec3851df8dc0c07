//! The JS surface: the `VoiceLink` class.

mod options;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::{EndReason, ErrorCode, LinkError};
use crate::driver::Link;
use crate::platform::js::js_error;

// The option, snapshot and error-code types are generated from the Rust types by ts-rs
// (src/core/types.rs → js/types.d.ts, shipped as pkg/types.d.ts); the error class is
// js/errors.js; the event map of `on()` is here (a method's generic signature, which
// wasm-bindgen cannot emit, merged into the class by declaration merging).
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { VoiceLinkOptions, VoiceLinkSnapshot, VoiceLinkErrorCode } from "./types.js";
export type * from "./types.js";
export { VoiceLinkError } from "./errors.js";

/** What each `link.on(event, listener)` event hands its listener. */
export interface VoiceLinkEventMap {
  /** A data-channel message: the parsed JSON when it parses, else the string. */
  message: unknown;
  /** A control-socket message: `type` is its string `type` (else `null`), `data` the parsed JSON. */
  control: { type: string | null; data: unknown };
  /** A non-fatal problem: `send-failed`, `control-invalid-json`, `control-closed`,
   * `control-timeout`, `control-failed`, `mic-lost`. */
  error: { code: VoiceLinkErrorCode; message: string };
  /** The microphone changed by itself: `kind` `"mic-lost"` when the capture track ended from
   * outside (unplugged, permission revoked); `deviceId` the lost device, `replacedBy` the
   * device captured instead (the system default), or `null` when none could take over (the
   * call goes on muted: `micEnabled` is `false`). */
  device: { kind: "mic-lost"; deviceId: string | null; replacedBy: string | null };
}

/** An audio device from `listMicrophones()` / `listSpeakers()` (`enumerateDevices`). `label`
 * is empty until the page has had microphone permission; `isDefault` marks the system default. */
export interface VoiceLinkDevice {
  deviceId: string;
  label: string;
  groupId: string;
  isDefault: boolean;
}

export interface VoiceLink {
  /**
   * Listens to link events (see `VoiceLinkEventMap`); returns the function that removes the
   * listener. Throws a `VoiceLinkError` `invalid-argument` for an unknown event name.
   */
  on<K extends keyof VoiceLinkEventMap>(event: K, listener: (event: VoiceLinkEventMap[K]) => void): () => void;
}
"#;

/// One realtime voice link: microphone, peer connection, WHIP session, data channel and
/// remote audio, with one teardown path that releases all of it.
#[wasm_bindgen]
pub struct VoiceLink {
    link: Link,
}

/// Internal, for the package entry (js/index.js): registers its `VoiceLinkError` class so that
/// every error the library throws or rejects with is an instance of it
/// (`e instanceof VoiceLinkError`).
#[wasm_bindgen(js_name = __registerErrorClass, skip_typescript)]
pub fn register_error_class(class: Function) {
    crate::platform::js::set_error_class(class);
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

    /// Optional warm-up (call it on hover or page load): resolves the token, runs the WHIP
    /// `OPTIONS` pre-flight (`iceServersFromServer`), creates the peer connection and starts ICE
    /// gathering — no microphone, no offer sent — so the next `connect()` skips that work and
    /// uses this peer connection. Kept for 30 s, then released (as by `disconnect()` and
    /// `dispose()`); a second call starts the 30 s over. Does nothing while connecting or
    /// connected. Rejects with `token-failed`, `unsupported`, `peer-connection`, `disposed`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn prepare(&self) -> Promise {
        self.link.prepare()
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
    /// JSON-encoded or its UTF-8 text is longer than the peer's `sctp.maxMessageSize` (bytes,
    /// W3C webrtc-pc; nothing is queued then). A message the browser refuses afterwards
    /// (`RTCDataChannel.send` throws) is dropped and reported on `on("error")` as `send-failed`;
    /// the messages after it still go out.
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
    /// non-fatal problems as `{ code, message }` (`send-failed`, `control-invalid-json`,
    /// `control-closed`, `control-timeout`, `control-failed`). Returns the function that removes the listener.
    /// Throws `invalid-argument` for an unknown event name.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, event: &str, listener: Function) -> Result<Function, JsValue> {
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

    /// Mutes (`false`) or unmutes the microphone; snapshot `micEnabled`. With
    /// `muteReleasesMic` (default) a mute stops the capture track — the browser's microphone
    /// indicator goes off — while the uplink keeps flowing as silence (same session, no
    /// renegotiation); an unmute captures again (same constraints and device) and swaps the
    /// track in with `replaceTrack`. With `muteReleasesMic: false` it sets `track.enabled`.
    /// A mute while idle, connecting or reconnecting holds: a connect while muted asks for no
    /// microphone at all. Rejects (still muted) with `mic-denied` / `mic-unavailable` when the
    /// unmute's capture fails, `disposed` after `dispose()`.
    #[wasm_bindgen(js_name = setMicEnabled, unchecked_return_type = "Promise<void>")]
    pub fn set_mic_enabled(&self, enabled: bool) -> Promise {
        self.link.set_mic_enabled(enabled)
    }

    /// The audio inputs (`enumerateDevices`, kind `audioinput`). Rejects `unsupported`
    /// without `navigator.mediaDevices`.
    #[wasm_bindgen(js_name = listMicrophones, unchecked_return_type = "Promise<readonly VoiceLinkDevice[]>")]
    pub fn list_microphones(&self) -> Promise {
        self.link.list_devices("audioinput")
    }

    /// The audio outputs (`enumerateDevices`, kind `audiooutput`; Chromium lists them, Firefox
    /// only after permission). Rejects `unsupported` without `navigator.mediaDevices`.
    #[wasm_bindgen(js_name = listSpeakers, unchecked_return_type = "Promise<readonly VoiceLinkDevice[]>")]
    pub fn list_speakers(&self) -> Promise {
        self.link.list_devices("audiooutput")
    }

    /// Chooses the microphone: a `deviceId` from `listMicrophones()`, or `"default"` (the
    /// system default, followed when it changes). Mid-call the capture is swapped with
    /// `replaceTrack` (same session; the old track is stopped only after the new one is live);
    /// otherwise the choice applies at the next capture. Snapshot `micDeviceId`. Rejects, with
    /// the old device still in use, with `mic-denied` / `mic-unavailable`; `invalid-argument`
    /// for an empty id.
    #[wasm_bindgen(js_name = setMicrophone, unchecked_return_type = "Promise<void>")]
    pub fn set_microphone(&self, #[wasm_bindgen(js_name = "deviceId")] device_id: String) -> Promise {
        self.link.set_microphone(device_id)
    }

    /// Plays the remote audio on the output device `deviceId` (from `listSpeakers()`, or
    /// `"default"`), with `setSinkId` on the connection's `AudioContext` (Chromium 110+).
    /// Rejects `unsupported` where the browser cannot choose (Firefox's `AudioContext`),
    /// `invalid-argument` for an unknown device, `not-connected` before remote audio plays.
    #[wasm_bindgen(js_name = setSpeaker, unchecked_return_type = "Promise<void>")]
    pub fn set_speaker(&self, #[wasm_bindgen(js_name = "deviceId")] device_id: String) -> Promise {
        self.link.set_speaker(device_id)
    }

    /// Ends the link (like `disconnect()`) and removes every listener. Idempotent; afterwards
    /// `connect()` rejects and `send()`/`subscribe()`/`on()` throw with code `disposed`.
    pub fn dispose(&self) {
        self.link.dispose();
    }
}
