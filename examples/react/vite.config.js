// The whole Vite config: React's own plugin. voicelink needs no plugin and no setting (its
// wasm is a `new URL("./voicelink_bg.wasm", import.meta.url)` asset that Vite emits by itself).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({ plugins: [react()] });
