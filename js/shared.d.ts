// Types shared by voicelink/react and voicelink/vue (not an entry of its own).
import type { VoiceLink, VoiceLinkDevice } from "./index.js";

/** The second argument of `useVoiceLink`. Read once, when the link is created. */
export interface UseVoiceLinkConfig {
  /** Connect once the link exists, after any link an adapter ended has finished closing
   * (React: a microtask after the effect that creates it, so StrictMode's first mount never
   * asks for the microphone). */
  autoConnect?: boolean;
}

/** The link's methods as `useVoiceLink` returns them; stable across renders. In React the
 * link is created in an effect: before it ran, `connect`, `reconnect`, `resumeAudio` and the
 * microphone and speaker methods reject, `send` throws and `disconnect` resolves at once. */
export interface VoiceLinkActions {
  /** `link.connect()`, after any link an adapter ended has finished closing. */
  connect(): Promise<void>;
  /** `link.prepare()`: the optional warm-up (on hover or page load) — token, peer connection
   * and ICE gathering ahead of `connect()`, no microphone; released after 30 s, by
   * `disconnect()` or on unmount. Before the link exists it resolves and does nothing. */
  prepare(): Promise<void>;
  /** `link.disconnect()`: the microphone is stopped before it returns. */
  disconnect(): Promise<void>;
  /** `link.reconnect()` (the reconnect button). */
  reconnect(): Promise<void>;
  /** `link.resumeAudio()`, from a click. */
  resumeAudio(): Promise<boolean>;
  /** `link.send(message)`: a string as is, anything else as JSON. */
  send(message: unknown): void;
  /** `link.setMicEnabled(enabled)`: mute / unmute (snapshot `micEnabled`), same session. With
   * `muteReleasesMic` (default) a mute stops the capture track (the browser's indicator goes
   * off) and the call carries silence. An unmute that cannot capture rejects (still muted)
   * with `mic-denied` / `mic-unavailable`. */
  setMicEnabled(enabled: boolean): Promise<void>;
  /** `link.listMicrophones()`: the audio inputs (labels are empty before microphone
   * permission, so list them once connected). */
  listMicrophones(): Promise<readonly VoiceLinkDevice[]>;
  /** `link.setMicrophone(deviceId)`: a `deviceId` from `listMicrophones()`, or `"default"`;
   * swaps the capture mid-call (snapshot `micDeviceId`; on failure the old track stays and it
   * rejects with `mic-denied` / `mic-unavailable`). */
  setMicrophone(deviceId: string): Promise<void>;
  /** `link.listSpeakers()`: the audio outputs. */
  listSpeakers(): Promise<readonly VoiceLinkDevice[]>;
  /** `link.setSpeaker(deviceId)`: a `deviceId` from `listSpeakers()`, or `"default"`; rejects
   * with `unsupported` where the browser cannot choose the output (Firefox). */
  setSpeaker(deviceId: string): Promise<void>;
}

export type { VoiceLink, VoiceLinkDevice };
