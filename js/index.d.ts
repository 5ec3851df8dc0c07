// Types of the package entry (pkg/index.js): the wasm module is initialised on import.
export { VoiceLink } from "./voicelink.js";
export type {
  VoiceLinkOptions,
  VoiceLinkSnapshot,
  VoiceLinkError,
  VoiceLinkErrorCode,
  VoiceLinkIceServer,
} from "./voicelink.js";
