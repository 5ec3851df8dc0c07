// Type-level tests of the package's public types (checked with `tsc --noEmit -p tests/types`
// by tests/e2e/types.test.mjs): each `@ts-expect-error` must be an error, everything else must not.
import {
  IDLE_SNAPSHOT,
  VoiceLink,
  VoiceLinkError,
  type VoiceLinkDevice,
  type VoiceLinkErrorCode,
  type VoiceLinkEventMap,
} from "voicelink";
import { useVoiceLink as useReactVoiceLink, type VoiceLinkActions } from "voicelink/react";
import { useVoiceLink as useVueVoiceLink } from "voicelink/vue";

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

// The microphone and speaker methods, on the link and as the adapters return them.

async function devices(actions: VoiceLinkActions, l: VoiceLink): Promise<void> {
  for (const a of [actions, l]) {
    const muted: Promise<void> = a.setMicEnabled(false);
    await muted;
    const mics: readonly VoiceLinkDevice[] = await a.listMicrophones();
    const first: VoiceLinkDevice | undefined = mics[0];
    if (first) {
      const id: string = first.deviceId;
      const label: string = first.label;
      const group: string = first.groupId;
      const isDefault: boolean = first.isDefault;
      void id, label, group, isDefault;
      await a.setMicrophone(first.deviceId);
    }
    await a.setMicrophone("default");
    const speakers: readonly VoiceLinkDevice[] = await a.listSpeakers();
    await a.setSpeaker(speakers[0]?.deviceId ?? "default");
    // @ts-expect-error: the list is read-only
    mics.push(mics[0]!);
    // @ts-expect-error: enabled is a boolean
    void a.setMicEnabled("off");
    // @ts-expect-error: a deviceId, not a device
    void a.setMicrophone(first);
    // @ts-expect-error: setSpeaker needs a deviceId
    void a.setSpeaker();
  }
}
void devices;

function adapters(): void {
  const react = useReactVoiceLink({ url: "/whip" });
  const vue = useVueVoiceLink({ url: "/whip" });
  const enabled: boolean = react.snapshot.micEnabled && vue.snapshot.value.micEnabled;
  const deviceId: string = react.snapshot.micDeviceId;
  const online: boolean = vue.snapshot.value.networkOnline;
  void react.setMicEnabled(!enabled), vue.setMicEnabled(!enabled);
  void react.setMicrophone(deviceId), vue.setMicrophone(deviceId);
  const lists: Promise<readonly VoiceLinkDevice[]>[] = [react.listMicrophones(), vue.listMicrophones(), react.listSpeakers(), vue.listSpeakers()];
  void react.setSpeaker("default"), vue.setSpeaker("default"), lists, online;
}
void adapters;

link.on("device", (d) => {
  const kind: "mic-lost" = d.kind;
  const lost: string | null = d.deviceId;
  const replacedBy: string | null = d.replacedBy;
  void kind, lost, replacedBy;
});
