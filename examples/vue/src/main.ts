import { createApp, createSSRApp } from "vue";
import { App } from "./App";

// ?whip=URL names the WHIP endpoint; ?autoconnect=1 connects on load.
const params = new URLSearchParams(location.search);
const whip = params.get("whip") ?? "http://127.0.0.1:7878/whip";
const autoConnect = params.get("autoconnect") === "1";

// Server-rendered HTML in #app (src/entry-server.ts) is hydrated; an empty #app is rendered.
const root = document.querySelector("#app")!;
(root.hasChildNodes() ? createSSRApp : createApp)(App, { whip, autoConnect }).mount(root);
