import { createApp, defineComponent, h, ref } from "vue";
import { Assistant } from "./Assistant";

// ?whip=URL names the WHIP endpoint; ?autoconnect=1 connects on load.
const params = new URLSearchParams(location.search);
const whip = params.get("whip") ?? "http://127.0.0.1:7878/whip";
const autoConnect = params.get("autoconnect") === "1";

// Closing the panel unmounts <Assistant>: its scope ends and the composable releases the
// microphone and the peer connection.
const App = defineComponent({
  setup() {
    const open = ref(true);
    return () =>
      h("main", [
        h("h1", "Voice assistant"),
        open.value ? h(Assistant, { whip, autoConnect }) : h("p", { id: "closed" }, "The assistant is closed."),
        h("button", { id: "toggle", onClick: () => (open.value = !open.value) }, open.value ? "Close assistant" : "Open assistant"),
      ]);
  },
});

createApp(App).mount("#app");
