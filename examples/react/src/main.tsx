import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

// ?whip=URL names the WHIP endpoint; ?autoconnect=1 connects on load.
const params = new URLSearchParams(location.search);
const whip = params.get("whip") ?? "http://127.0.0.1:7878/whip";

// StrictMode mounts, unmounts and mounts again in development: useVoiceLink still opens one
// microphone (the e2e test holds it to that, in a production build too).
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App whip={whip} autoConnect={params.get("autoconnect") === "1"} />
  </StrictMode>,
);
