// The whole Vite config: Vue's own plugin (it sets Vue's compile-time flags; the app has no
// SFC). voicelink needs no plugin and no setting: its wasm is a
// `new URL("./voicelink_bg.wasm", import.meta.url)` asset that Vite emits by itself.
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({ plugins: [vue()] });
