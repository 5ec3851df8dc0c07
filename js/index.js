// voicelink's ES module entry. It instantiates the WebAssembly module once (top-level await)
// and re-exports the API, so `import { VoiceLink } from "voicelink"` is all an app writes.
// Vite and webpack 5 understand new URL("…", import.meta.url) and emit the .wasm file as an
// asset; with esbuild (which keeps the URL as is) copy voicelink_bg.wasm beside the bundle. A
// plain page loads it from beside this file.
import init, { VoiceLink } from "./voicelink.js";

await init({ module_or_path: new URL("./voicelink_bg.wasm", import.meta.url) });

export { VoiceLink };
