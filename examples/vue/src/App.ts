import { defineComponent, h, ref } from "vue";
import { Assistant } from "./Assistant";

// Closing the panel unmounts <Assistant>: its scope ends and the composable releases the
// microphone and the peer connection.
export const App = defineComponent({
  props: {
    whip: { type: String, required: true },
    autoConnect: { type: Boolean, default: false },
  },
  setup(props) {
    const open = ref(true);
    return () =>
      h("main", [
        h("h1", "Voice assistant"),
        open.value ? h(Assistant, { whip: props.whip, autoConnect: props.autoConnect }) : h("p", { id: "closed" }, "The assistant is closed."),
        h("button", { id: "toggle", onClick: () => (open.value = !open.value) }, open.value ? "Close assistant" : "Open assistant"),
      ]);
  },
});
