// Types of voicelink/react (pkg/react.js).
import type { VoiceLink, VoiceLinkOptions, VoiceLinkSnapshot } from "./index.js";

export interface UseVoiceLinkConfig {
  /** Connect once the link exists (after the first render, a microtask later, and after any link an adapter ended has finished closing). Read once. */
  autoConnect?: boolean;
}

export interface UseVoiceLinkResult {
  /** The link's snapshot; before the link exists, one constant idle snapshot. */
  snapshot: VoiceLinkSnapshot;
  /** The VoiceLink, or null before the effect that creates it ran. */
  link: VoiceLink | null;
  /** `link.connect()`, after any link an adapter ended has finished closing. Rejects before the link exists. */
  connect(): Promise<void>;
  /** `link.disconnect()` (the microphone is stopped before it returns); resolves at once before the link exists. */
  disconnect(): Promise<void>;
  /** `link.reconnect()` (the reconnect button). Rejects before the link exists. */
  reconnect(): Promise<void>;
  /** `link.resumeAudio()`, from a click. Rejects before the link exists. */
  resumeAudio(): Promise<boolean>;
  /** `link.send(message)`. Throws before the link exists. */
  send(message: unknown): void;
}

/**
 * One VoiceLink for the calling component: created in an effect, disposed of on unmount
 * (StrictMode-safe: never two microphones). `options` and `config` are read once, when the link
 * is created; to change them, remount with a `key`. The functions are stable across renders.
 */
export function useVoiceLink(options: VoiceLinkOptions, config?: UseVoiceLinkConfig): UseVoiceLinkResult;
