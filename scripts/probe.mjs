// The browser-side probe (tests/probe/probe.js) as an init script for pages driven from Node
// (e2e tests, benches): `await page.addInitScript(probeInitScript)` (playwright) or
// `await page.evaluateOnNewDocument(probeInitScript)` (puppeteer) before the page loads, so it is
// installed before voicelink runs. The probe file is an ES module for the wasm-bindgen tests; its
// `export` keywords are dropped here to make a classic script. In the page it is
// `globalThis.__voicelinkProbe`: `summary()` gives { captureTracks, liveCaptureTracks,
// captureOrigins ({ origin: count }), peerConnections, openPeerConnections, audioContexts, liveAudioContexts,
// mediaElements, activeMediaElements }, `destination(i)` what reached context i's speakers.
import { readFileSync } from "node:fs";

const source = readFileSync(new URL("../tests/probe/probe.js", import.meta.url), "utf8");

/** The probe as a classic script (installs itself when evaluated). */
export const probeInitScript = source.replace(/^export /gm, "");

/** What the probe in `page` counts now (`page.evaluate` works in playwright and puppeteer). */
export function probeSummary(page) {
  return page.evaluate(() => globalThis.__voicelinkProbe.summary());
}
