// voicelink's ES module entry. It instantiates the WebAssembly module once (top-level await)
// and re-exports the API, so `import { VoiceLink } from "voicelink"` is all an app writes.
// Bundlers (Vite, webpack 5, esbuild, Rollup) understand new URL("…", import.meta.url) and
// emit the .wasm file as an asset; a plain page loads it from beside this file.
import init, { VoiceLink } from "./voicelink.js";

await init({ module_or_path: new URL("./voicelink_bg.wasm", import.meta.url) });

export { VoiceLink };
