// Types of voicelink/vue (pkg/vue.js).
import type { ShallowRef } from "vue";
import type { VoiceLink, VoiceLinkOptions, VoiceLinkSnapshot } from "./index.js";

export interface UseVoiceLinkConfig {
  /** Connect at once (after any link an adapter ended has finished closing). */
  autoConnect?: boolean;
}

export interface UseVoiceLinkResult {
  /** The link's snapshot, replaced (never mutated) on every change. */
  snapshot: ShallowRef<VoiceLinkSnapshot>;
  /** The VoiceLink (marked raw: Vue never wraps it in a proxy). */
  link: VoiceLink;
  /** `link.connect()`, after any link an adapter ended has finished closing. */
  connect(): Promise<void>;
  /** `link.disconnect()`: the microphone is stopped before it returns. */
  disconnect(): Promise<void>;
  /** `link.reconnect()` (the reconnect button). */
  reconnect(): Promise<void>;
  /** `link.resumeAudio()`, from a click. */
  resumeAudio(): Promise<boolean>;
  /** `link.send(message)`. */
  send(message: unknown): void;
}

/**
 * A VoiceLink for the current effect scope (a component's setup()): disconnected and disposed of
 * when the scope ends. `options` are read once. Throws `invalid-option` like `new VoiceLink`.
 */
export function useVoiceLink(options: VoiceLinkOptions, config?: UseVoiceLinkConfig): UseVoiceLinkResult;
