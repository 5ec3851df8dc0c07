// Types of pkg/idle.js (re-exported by the package entry).
import type { VoiceLinkSnapshot } from "./types.js";

/** The snapshot of a never-connected link, as a plain frozen object that needs no wasm: what
 * the React and Vue adapters render on a server and before their link exists. Equal key by key
 * to `new VoiceLink(options).getSnapshot()` for options without `control`. */
export declare const IDLE_SNAPSHOT: Readonly<VoiceLinkSnapshot>;

/** `true` in a browser page (a window with a document), `false` on a server. */
export declare const inBrowser: boolean;
