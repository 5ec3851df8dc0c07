// Server rendering of the same app (what Nuxt does for every page): `vite build --ssr
// src/entry-server.ts` makes a Node module whose render() returns the HTML for #app. voicelink
// makes no link on the server; the composable renders the idle snapshot, which the browser's
// first render matches when it hydrates.
import { createSSRApp } from "vue";
import { renderToString } from "vue/server-renderer";
import { App } from "./App";

export function render(whip: string): Promise<string> {
  return renderToString(createSSRApp(App, { whip }));
}
