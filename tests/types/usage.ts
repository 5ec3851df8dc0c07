// Type-level tests of the package's public types (checked with `tsc --noEmit -p tests/types`
// by tests/e2e/ssr.test.mjs): each `@ts-expect-error` must be an error, everything else must not.
import { IDLE_SNAPSHOT, VoiceLink, VoiceLinkError, type VoiceLinkErrorCode, type VoiceLinkEventMap } from "voicelink";

declare const link: VoiceLink;

const offMessage: () => void = link.on("message", (m) => {
  const value: unknown = m;
  void value;
});
link.on("control", (c) => {
  const type: string | null = c.type;
  void type;
});
link.on("error", (e) => {
  const code: VoiceLinkErrorCode = e.code;
  const message: string = e.message;
  void code, message;
});
// @ts-expect-error: not an event
link.on("nope", () => {});
link.on("error", (e) => {
  // @ts-expect-error: an error event has no `status`
  void e.status;
});
offMessage();

const map: VoiceLinkEventMap["error"] = { code: "send-failed", message: "x" };
// @ts-expect-error: not a code
const bad: VoiceLinkEventMap["error"] = { code: "no-such-code", message: "x" };
void map, bad;

function handle(e: unknown): VoiceLinkErrorCode | null {
  return e instanceof VoiceLinkError ? e.code : null;
}
void handle;
const err = new VoiceLinkError("mic-denied", "denied");
const status: number | undefined = err.status;
void status;

const idle: "idle" | "connecting" | "connected" | "interrupted" | "reconnecting" | "disconnected" | "failed" = IDLE_SNAPSHOT.status;
void idle;

// prepare() and the options of issue 16.
const warm: Promise<void> = link.prepare();
void warm;
new VoiceLink({ url: "/whip", iceTransportPolicy: "relay", iceServersFromServer: true });
// @ts-expect-error: not a policy
new VoiceLink({ url: "/whip", iceTransportPolicy: "none" });
