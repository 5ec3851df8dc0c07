// Types of the package entry (pkg/index.js): the wasm module is initialised on import.
// The option, snapshot and error-code types are generated from the Rust types (types.d.ts).
export { VoiceLink } from "./voicelink.js";
export type { VoiceLinkError } from "./voicelink.js";
export type * from "./types.js";
