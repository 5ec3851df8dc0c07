// voicelink's ES module entry. In a browser it instantiates the WebAssembly module once
// (top-level await) and exports the wasm-backed `VoiceLink`, so `import { VoiceLink } from
// "voicelink"` is all an app writes. Vite and webpack 5 understand new URL("…", import.meta.url)
// and emit the .wasm file as an asset; with esbuild (which keeps the URL as is) copy
// voicelink_bg.wasm beside the bundle. A plain page loads it from beside this file.
//
// On a server (Next.js or Nuxt server rendering, plain Node) nothing is fetched or instantiated:
// importing never throws, `VoiceLink` is a class whose constructor throws a VoiceLinkError with
// code "unsupported", and IDLE_SNAPSHOT is what the React and Vue adapters render there. One
// entry for both (instead of export conditions) because bundlers disagree on which condition
// their server-side-rendering pass uses; `typeof window` does not depend on them.
import init, { VoiceLink as BrowserVoiceLink, __registerErrorClass } from "./voicelink.js";
import { VoiceLinkError } from "./errors.js";
import { IDLE_SNAPSHOT, inBrowser } from "./idle.js";

if (inBrowser) {
  await init({ module_or_path: new URL("./voicelink_bg.wasm", import.meta.url) });
  __registerErrorClass(VoiceLinkError);
}

class ServerVoiceLink {
  constructor() {
    throw new VoiceLinkError(
      "unsupported",
      "voicelink runs in a browser: this is a server (server-side rendering or Node). Create the " +
        "VoiceLink in the browser — in an effect (React useEffect), onMounted (Vue), or use " +
        "voicelink/react and voicelink/vue, whose hooks render the idle snapshot on a server.",
    );
  }
}

export const VoiceLink = inBrowser ? BrowserVoiceLink : ServerVoiceLink;
export { IDLE_SNAPSHOT, VoiceLinkError };
