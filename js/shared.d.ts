// Types shared by voicelink/react and voicelink/vue (not an entry of its own).
import type { VoiceLink } from "./index.js";

/** The second argument of `useVoiceLink`. Read once, when the link is created. */
export interface UseVoiceLinkConfig {
  /** Connect once the link exists, after any link an adapter ended has finished closing
   * (React: a microtask after the effect that creates it, so StrictMode's first mount never
   * asks for the microphone). */
  autoConnect?: boolean;
}

/** The link's methods as `useVoiceLink` returns them; stable across renders. In React the
 * link is created in an effect: before it ran, `connect`, `reconnect` and `resumeAudio`
 * reject, `send` throws and `disconnect` resolves at once. */
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
}

export type { VoiceLink };
