// Types of pkg/errors.js (re-exported by the package entry).
import type { VoiceLinkErrorCode } from "./types.js";

/** Every error voicelink throws or rejects with: `e instanceof VoiceLinkError`, then switch on
 * `e.code`. `status` is the HTTP status for `signaling-http`, absent otherwise. */
export declare class VoiceLinkError extends Error {
  constructor(code: VoiceLinkErrorCode, message: string, status?: number);
  readonly name: "VoiceLinkError";
  /** Stable error code (never changes between versions). */
  readonly code: VoiceLinkErrorCode;
  /** HTTP status, for `signaling-http` only. */
  readonly status?: number;
}
