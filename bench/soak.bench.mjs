// Soak: many connect/disconnect cycles of one VoiceLink in one page, then what
// is left behind. In Chromium, then in Firefox ESR (VOICELINK_BROWSERS, default both;
// Firefox's keys end in ".firefox"; BENCH_SOAK_CYCLES_FIREFOX cycles, default the same).
// Firefox runs the probe page only: no heap measure there (no CDP), so no
// soak.heap_growth_bytes.firefox and no second page. The rest describes Chromium: Headless Chromium (flags from webdriver.json, fake microphone)
// against the dev peer on loopback; the demo page, `import("/pkg/index.js")`.
//
// One `new VoiceLink({ url: origin + "/whip" })`; CYCLES times (BENCH_SOAK_CYCLES,
// default 200, the issue's figure): `await link.connect()` then `await
// link.disconnect()`. Each connect and each disconnect has a 15 s limit, and the
// whole run BENCH_SOAK_MAX_S (default 600 s): the run aborts with an error when
// one is exceeded (it never reports fewer cycles as a result).
//
// What is left is counted by the browser-side probe (tests/probe/probe.js, via
// scripts/probe.mjs), installed with `page.addInitScript` before the page or the
// library runs and independent of the library: every capture track however it was
// made (getUserMedia, MediaStreamTrack.clone, MediaStream.clone, new MediaStream),
// every RTCPeerConnection and AudioContext constructed, every media element created,
// given a srcObject or played. After each cycle the probe's counts are read (the
// first cycle that leaves something is printed); after the last one, a bounded wait
// (2 s) for anything still closing, then:
//   soak.cycles                    cycles completed
//   soak.live_capture_tracks       probe: capture tracks whose readyState is "live"
//   soak.open_peer_connections     probe: RTCPeerConnections whose connectionState or
//                                  signalingState is not "closed"
//   soak.live_audio_contexts       probe: AudioContexts whose state is not "closed"
//   soak.active_media_elements     probe: media elements playing (not paused, not ended)
//                                  or still holding a srcObject
//   soak.heap_growth_bytes         JS heap used (CDP HeapProfiler.collectGarbage twice,
//                                  then Runtime.getHeapUsage → usedSize) after the last
//                                  cycle minus the same after 5 warm-up cycles, measured
//                                  in a second page of the same browser, WITHOUT the
//                                  probe (the probe keeps a reference to every object it
//                                  records — a track, a peer connection, a context and an
//                                  element per cycle at least — so its page's growth is
//                                  printed, not stored), CYCLES cycles again.
// soak.cycles is the smaller of the two pages' counts (both are CYCLES, or the run fails).
// In the probe's page the per-context audio recordings (quanta) of closed contexts are
// dropped after each cycle: the soak does not use them.
// After each page the dev peer's GET /_dev/state must report sessionsOpen 0 (printed;
// the bench fails when it does not reach 0 within 10 s).
import { peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { probeInitScript } from "../scripts/probe.mjs";
import { summary, newBenchPage, perBrowser, launchBrowser, browserVersion, gotoPage } from "./lib.mjs";

export const name = "soak";
export const needsPeer = true;
/** Keys earlier versions wrote and this one replaces: removed from bench/results.json. */
export const retiredKeys = ["soak.live_tracks"]; // counted getUserMedia's tracks only: now soak.live_capture_tracks

const CYCLES = Number(process.env.BENCH_SOAK_CYCLES || 200);
/** Firefox's cycles (BENCH_SOAK_CYCLES_FIREFOX, default the same as Chromium's). */
const FIREFOX_CYCLES = Number(process.env.BENCH_SOAK_CYCLES_FIREFOX || CYCLES);
const MAX_S = Number(process.env.BENCH_SOAK_MAX_S || 600);
const WARMUP = 5;
const STEP_TIMEOUT_MS = 15_000;

/** Installed before any page script (after the probe, when there is one): the cycle runner. */
function pageInit() {
  const B = (window.__soak = { done: 0, firstLeft: null, maxLeft: null });
  const P = () => globalThis.__voicelinkProbe;

  /** The probe's counts of what is still alive (null without the probe). */
  B.left = () => {
    const p = P();
    if (!p) return null;
    return {
      captureTracks: p.liveCaptureTracks(),
      peerConnections: p.openPeerConnections(),
      audioContexts: p.liveAudioContexts(),
      mediaElements: p.activeMediaElements(),
    };
  };
  /** Drops the probe's audio recordings of closed contexts (the soak does not use them). */
  B.dropQuanta = () => {
    for (const e of P()?.audioContexts || []) if (e.ctx.state === "closed" && e.quanta.length) e.quanta.length = 0;
  };

  const withTimeout = (p, what) => {
    let timer;
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${B.stepTimeoutMs} ms`)), B.stepTimeoutMs);
      }),
    ]);
  };

  /** Runs `n` cycles; returns per-cycle connect/disconnect ms. Throws on the first failure or
   * when the run's deadline (Date.now() ms, set by the bench) passes. */
  B.cycles = async (n) => {
    const times = { connect: [], disconnect: [] };
    for (let i = 0; i < n; i++) {
      if (Date.now() > B.deadline) throw new Error(`soak over its time limit (BENCH_SOAK_MAX_S) after ${B.done} cycles of this page`);
      const t0 = performance.now();
      try {
        await withTimeout(B.link.connect(), `connect #${B.done + 1}`);
      } catch (e) {
        throw new Error(`cycle ${B.done + 1}: connect: ${e.message || e} (snapshot ${JSON.stringify(B.link.getSnapshot())})`);
      }
      const t1 = performance.now();
      try {
        await withTimeout(B.link.disconnect(), `disconnect #${B.done + 1}`);
      } catch (e) {
        throw new Error(`cycle ${B.done + 1}: disconnect: ${e.message || e}`);
      }
      const t2 = performance.now();
      B.done++;
      times.connect.push(t1 - t0);
      times.disconnect.push(t2 - t1);
      const left = B.left();
      if (left) {
        if (!B.maxLeft) B.maxLeft = { ...left };
        for (const k of Object.keys(left)) B.maxLeft[k] = Math.max(B.maxLeft[k], left[k]);
        if (!B.firstLeft && Object.values(left).some((v) => v > 0)) B.firstLeft = { cycle: B.done, left };
        B.dropQuanta();
      }
    }
    return times;
  };
}

/** One page, one VoiceLink, CYCLES cycles; with the probe installed first when `probe`. Returns
 * the cycle times, the JS heap after the warm-up and at the end, and (with the probe) what it
 * counts left after a bounded wait. */
async function soakPage(browser, { probe, deadline, cycles, heap }) {
  const page = await newBenchPage(browser, probe ? probeInitScript : null, pageInit);
  try {
    await gotoPage(page, `${peerUrl}/`);
    const before = await page.evaluate(
      async ({ stepTimeoutMs, deadline, probe }) => {
        const P = globalThis.__voicelinkProbe;
        if (probe && !P) throw new Error("the probe is not installed in the page");
        if (!probe && P) throw new Error("the probe is installed in the page meant to run without it");
        const before = P ? P.summary() : null;
        const { VoiceLink } = await import("/pkg/index.js");
        const B = window.__soak;
        B.stepTimeoutMs = stepTimeoutMs;
        B.deadline = deadline;
        B.link = new VoiceLink({ url: location.origin + "/whip" });
        return before;
      },
      { stepTimeoutMs: STEP_TIMEOUT_MS, deadline, probe },
    );

    // Chromium only (CDP); Firefox has no heap measure over WebDriver BiDi: NaN.
    const cdp = heap ? await page.context().newCDPSession(page) : null;
    const heapUsed = async () => {
      if (!cdp) return NaN;
      await cdp.send("HeapProfiler.collectGarbage");
      await cdp.send("HeapProfiler.collectGarbage");
      return (await cdp.send("Runtime.getHeapUsage")).usedSize;
    };
    // Printed only: the wasm linear memory is outside the JS heap (init() returns the
    // module's exports once it is initialised).
    const wasmBytes = () =>
      page.evaluate(async () => (await (await import("/pkg/voicelink.js")).default())?.memory?.buffer?.byteLength ?? NaN);
    // No playwright limit: the page enforces 15 s per connect/disconnect and the deadline.
    const runCycles = (n) => page.evaluate((k) => window.__soak.cycles(k), n);

    const t0 = performance.now();
    const warm = Math.min(WARMUP, cycles);
    const times = await runCycles(warm);
    const heapWarm = await heapUsed();
    const wasmWarm = await wasmBytes();
    const rest = await runCycles(cycles - warm);
    times.connect.push(...rest.connect);
    times.disconnect.push(...rest.disconnect);
    await page.evaluate(() => window.__soak.dropQuanta());
    const heapEnd = await heapUsed();
    const wasmEnd = await wasmBytes();
    const elapsed = (performance.now() - t0) / 1000;

    // Bounded wait for anything still closing, then the probe's final count.
    const end = await page.evaluate(async () => {
      const B = window.__soak;
      const P = globalThis.__voicelinkProbe;
      const snap = B.link.getSnapshot();
      const out = { done: B.done, status: snap.status, teardownErrors: snap.teardownErrors };
      if (!P) return out;
      const t = performance.now();
      let left = B.left();
      while (Object.values(left).some((v) => v > 0) && performance.now() - t < 2000) {
        await new Promise((r) => setTimeout(r, 20));
        left = B.left();
      }
      const origins = {};
      for (const { origin } of P.captureTracks) origins[origin] = (origins[origin] || 0) + 1;
      const live = {
        captureTracks: P.captureTracks.filter((c) => c.track.readyState === "live").map((c) => `${c.origin}: ${c.track.label || c.track.kind}`),
        peerConnections: P.peerConnections.filter((pc) => pc.connectionState !== "closed" || pc.signalingState !== "closed").map((pc) => `${pc.connectionState}/${pc.signalingState}`),
        audioContexts: P.audioContexts.filter((e) => e.ctx.state !== "closed").map((e) => e.ctx.state),
      };
      return { ...out, left, summary: P.summary(), origins, live, firstLeft: B.firstLeft, maxLeft: B.maxLeft };
    });
    await page.evaluate(() => window.__soak.link.dispose());
    return { before, times, warm, heapWarm, heapEnd, wasmWarm, wasmEnd, elapsed, end };
  } finally {
    await page.close();
  }
}

/** Waits (≤ 10 s) for the dev peer to report no open session; returns its state. */
async function peerClosed() {
  let state = await peerJson("/_dev/state");
  await until(async () => (state = await peerJson("/_dev/state")).sessionsOpen === 0, {
    timeoutMs: 10_000,
    what: "the dev peer to report sessionsOpen 0",
  }).catch(() => {});
  console.log(`  dev peer: sessionsOpen ${state.sessionsOpen}, sessionsCreated ${state.sessionsCreated}`);
  if (state.sessionsOpen !== 0) throw new Error(`the dev peer still has ${state.sessionsOpen} open session(s)`);
  return state;
}

function printPage(label, r) {
  const c = summary(r.times.connect);
  const d = summary(r.times.disconnect);
  console.log(`  ${label}: ${r.end.done} cycles in ${r.elapsed.toFixed(1)} s; connect p50 ${c.p50.toFixed(0)} ms (max ${c.max.toFixed(0)}), disconnect p50 ${d.p50.toFixed(0)} ms (max ${d.max.toFixed(0)})`);
  if (Number.isNaN(r.heapWarm)) console.log("    heap used: not measured (no CDP in Firefox)");
  else console.log(`    heap used: ${r.heapWarm} B after ${r.warm} warm-up cycles, ${r.heapEnd} B after ${r.end.done} (growth ${r.heapEnd - r.heapWarm} B, ${((r.heapEnd - r.heapWarm) / Math.max(1, r.end.done - r.warm)).toFixed(0)} B/cycle)`);
  console.log(`    wasm memory: ${r.wasmWarm} B after ${r.warm} warm-up cycles, ${r.wasmEnd} B after ${r.end.done}`);
  console.log(`    link after the last disconnect: status ${r.end.status}, teardownErrors ${JSON.stringify(r.end.teardownErrors)}`);
}

export function run() {
  return perBrowser(runIn);
}

async function runIn(browserName) {
  const chromium = browserName === "chromium";
  const cycles = chromium ? CYCLES : FIREFOX_CYCLES;
  const deadline = Date.now() + MAX_S * 1000;
  // Firefox (puppeteer): one page.evaluate runs all the cycles after the warm-up; puppeteer's
  // protocol timeout (scripts/firefox.mjs: 60 s) would cut it, so it is the run's limit + 60 s.
  const browser = await launchBrowser(browserName, chromium ? {} : { protocolTimeout: (MAX_S + 60) * 1000 });
  try {
    console.log(`  ${browserName} ${await browserVersion(browser)}: ${cycles} cycles`);
    // 1. With the probe: what is left behind.
    const a = await soakPage(browser, { probe: true, deadline, cycles, heap: chromium });
    const { end } = a;
    const s = end.summary;
    printPage("with the probe", a);
    console.log(`    probe, before the library loaded: ${JSON.stringify({ captureTracks: a.before.captureTracks, peerConnections: a.before.peerConnections, audioContexts: a.before.audioContexts, mediaElements: a.before.mediaElements })}`);
    console.log(`    probe, created: ${s.captureTracks} capture tracks ${JSON.stringify(end.origins)}, ${s.peerConnections} peer connections, ${s.audioContexts} audio contexts, ${s.mediaElements} media elements`);
    const anyLive = Object.values(end.live).some((l) => l.length > 0);
    console.log(`    probe, left: ${end.left.captureTracks} live capture tracks, ${end.left.peerConnections} open peer connections, ${end.left.audioContexts} live audio contexts, ${end.left.mediaElements} active media elements${anyLive ? ` ${JSON.stringify(end.live).slice(0, 600)}` : ""}`);
    console.log(`    probe, right after each disconnect() resolved: max ${JSON.stringify(end.maxLeft)}; ${end.firstLeft ? `first left-over after cycle ${end.firstLeft.cycle}: ${JSON.stringify(end.firstLeft.left)}` : "nothing left after any cycle"}`);
    await peerClosed();
    if (s.captureTracks < end.done || s.peerConnections < end.done || s.audioContexts < end.done) {
      throw new Error(`the probe recorded fewer objects than cycles (${JSON.stringify({ ...s, captureOrigins: undefined })}): it missed something`);
    }

    const left = {
      "soak.live_capture_tracks": end.left.captureTracks,
      "soak.open_peer_connections": end.left.peerConnections,
      "soak.live_audio_contexts": end.left.audioContexts,
      "soak.active_media_elements": end.left.mediaElements,
    };
    // Firefox: no second page; its JS heap cannot be read over WebDriver BiDi (no CDP,
    // no performance.memory), so there is no soak.heap_growth_bytes.firefox.
    if (!chromium) return { "soak.cycles": a.end.done, ...left };

    // 2. Without the probe (it keeps every object it records): the JS heap.
    const b = await soakPage(browser, { probe: false, deadline, cycles, heap: true });
    printPage("without the probe (heap)", b);
    await peerClosed();

    return {
      "soak.cycles": Math.min(a.end.done, b.end.done),
      ...left,
      "soak.heap_growth_bytes": b.heapEnd - b.heapWarm,
    };
  } finally {
    await browser.close();
  }
}
