// Types of voicelink/react (pkg/react.js).
import type { VoiceLink, VoiceLinkOptions, VoiceLinkSnapshot } from "./index.js";
import type { UseVoiceLinkConfig, VoiceLinkActions } from "./shared.js";

export type { UseVoiceLinkConfig, VoiceLinkActions };

export interface UseVoiceLinkResult extends VoiceLinkActions {
  /** The link's snapshot; before the link exists (the first render, and on a server),
   * `IDLE_SNAPSHOT`. */
  snapshot: VoiceLinkSnapshot;
  /** The VoiceLink, or null before the effect that creates it ran. */
  link: VoiceLink | null;
}

/**
 * One VoiceLink for the calling component: created in an effect, disposed of on unmount
 * (StrictMode-safe: never two microphones). `options` and `config` are read once, when the link
 * is created; to change them, remount with a `key`. The functions are stable across renders.
 */
export function useVoiceLink(options: VoiceLinkOptions, config?: UseVoiceLinkConfig): UseVoiceLinkResult;
