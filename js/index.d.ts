// Types of the package entry (pkg/index.js). In a browser the wasm module is initialised on
// import; on a server nothing is instantiated and `new VoiceLink()` throws a VoiceLinkError with
// code "unsupported" (the types are the same everywhere).
// The option, snapshot and error-code types are generated from the Rust types (types.d.ts).
export { VoiceLink } from "./voicelink.js";
export type { VoiceLinkDevice, VoiceLinkEventMap } from "./voicelink.js";
export { VoiceLinkError } from "./errors.js";
export type * from "./types.js";
export type { VoiceLinkSignaling, VoiceLinkSignalingRequest } from "./signaling.js";
export { IDLE_SNAPSHOT } from "./idle.js";
