import { defineComponent, h, ref, shallowRef, watch } from "vue";
import type { VoiceLinkDevice, VoiceLinkSnapshot } from "voicelink";
import { useVoiceLink } from "voicelink/vue";

const LIVE: VoiceLinkSnapshot["status"][] = ["connecting", "connected", "interrupted", "reconnecting"];

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: string }).code;
  return code ? `${code}: ${e.message}` : e.message;
}

export const Assistant = defineComponent({
  props: {
    whip: { type: String, required: true },
    autoConnect: { type: Boolean, default: false },
  },
  setup(props) {
    // Options are read once; a different URL needs a remount (`key`).
    const { snapshot, connect, disconnect, reconnect, resumeAudio, setMicEnabled, listMicrophones, setMicrophone } =
      useVoiceLink({ url: props.whip }, { autoConnect: props.autoConnect });
    const callError = ref<string | null>(null);
    const run = (action: () => Promise<unknown>) => () => {
      callError.value = null;
      action().catch((e: unknown) => (callError.value = describe(e)));
    };

    // Device labels are empty until the page may use the microphone: list them once connected.
    const mics = shallowRef<readonly VoiceLinkDevice[]>([]);
    watch(
      () => snapshot.value.status === "connected",
      (connected) => {
        if (connected) listMicrophones().then((list) => (mics.value = list), (e: unknown) => (callError.value = describe(e)));
      },
    );

    return () => {
      const s = snapshot.value;
      const live = LIVE.includes(s.status);
      const error = s.error ? `${s.error.code}: ${s.error.message}` : callError.value;
      return h("section", [
        h("p", [
          "Status: ",
          h("span", { id: "status", "data-status": s.status }, s.status),
          " ",
          h("span", { id: "quality", class: "badge", "data-grade": s.quality.grade, title: "connection quality" }, s.quality.grade),
        ]),
        h("div", { class: "row" }, [
          h("button", { id: "connect", disabled: live, onClick: run(connect) }, "Connect"),
          s.canReconnect ? h("button", { id: "reconnect", onClick: run(reconnect) }, "Reconnect") : null,
          h("button", { id: "disconnect", disabled: !live, onClick: run(disconnect) }, "Disconnect"),
          s.audioBlocked ? h("button", { id: "resume-audio", onClick: run(resumeAudio) }, "Enable audio") : null,
        ]),
        h("div", { class: "row" }, [
          // A mute releases the microphone (its indicator goes off); the call goes on.
          h("button", { id: "mute", onClick: run(() => setMicEnabled(!s.micEnabled)) }, s.micEnabled ? "Mute" : "Unmute"),
          h(
            "select",
            {
              id: "microphone",
              "aria-label": "Microphone",
              disabled: mics.value.length === 0,
              value: s.micDeviceId,
              onChange: (e: Event) => run(() => setMicrophone((e.target as HTMLSelectElement).value))(),
            },
            [
              h("option", { value: "default" }, "System default"),
              ...mics.value
                .filter((d) => d.deviceId !== "default")
                .map((d, i) => h("option", { key: d.deviceId, value: d.deviceId }, d.label || `Microphone ${i + 1}`)),
            ],
          ),
        ]),
        h("p", [
          h("label", { for: "mic-level" }, s.micEnabled ? "Microphone" : "Microphone (muted)"),
          " ",
          h("meter", { id: "mic-level", min: 0, max: 0.3, value: s.micLevel }),
        ]),
        s.networkOnline ? null : h("p", { id: "offline", role: "status" }, "You are offline: check the network connection."),
        s.graceRemainingMs != null
          ? h("p", { id: "grace" }, `Connection lost: the session is kept ${Math.ceil(s.graceRemainingMs / 1000)} s more.`)
          : null,
        h("p", ["Session: ", h("code", { id: "session" }, s.sessionId ?? "")]),
        error ? h("p", { id: "error", class: "error", role: "alert" }, error) : null,
      ]);
    };
  },
});
