// The error class of voicelink. Every error the library throws or rejects with — and the
// `unsupported` error `new VoiceLink()` throws on a server — is an instance, so apps can write
// `e instanceof VoiceLinkError` and switch on `e.code` (a stable string, see VoiceLinkErrorCode).
export class VoiceLinkError extends Error {
  /**
   * @param {string} code stable error code, e.g. "mic-denied", "signaling-http"
   * @param {string} message what happened and what to do
   * @param {number} [status] the HTTP status, for "signaling-http" only
   */
  constructor(code, message, status) {
    super(message);
    this.name = "VoiceLinkError";
    this.code = code;
    if (status !== undefined && status !== null) this.status = status;
  }
}
