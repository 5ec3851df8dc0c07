// Types of voicelink/vue (pkg/vue.js).
import type { ShallowRef } from "vue";
import type { VoiceLink, VoiceLinkOptions, VoiceLinkSnapshot } from "./index.js";
import type { UseVoiceLinkConfig, VoiceLinkActions } from "./shared.js";

export type { UseVoiceLinkConfig, VoiceLinkActions };

export interface UseVoiceLinkResult extends VoiceLinkActions {
  /** The link's snapshot, replaced (never mutated) on every change. */
  snapshot: ShallowRef<VoiceLinkSnapshot>;
  /** The VoiceLink (marked raw: Vue never wraps it in a proxy); `null` during server
   * rendering, where no link is made and `snapshot` holds `IDLE_SNAPSHOT`. */
  link: VoiceLink | null;
}

/**
 * A VoiceLink for the current effect scope (a component's setup()): disconnected and disposed of
 * when the scope ends. `options` are read once. Throws `invalid-option` like `new VoiceLink`.
 * On a server it makes no link: the idle snapshot, `link` null, actions reject with
 * `unsupported`.
 */
export function useVoiceLink(options: VoiceLinkOptions, config?: UseVoiceLinkConfig): UseVoiceLinkResult;
