// Soak: many connect/disconnect cycles of one VoiceLink in one page, then what
// is left behind. Headless Chromium (flags from webdriver.json, fake microphone)
// against the dev peer on loopback; the demo page, `import("/pkg/index.js")`.
//
// One `new VoiceLink({ url: origin + "/whip" })`; CYCLES times (BENCH_SOAK_CYCLES,
// default 200): `await link.connect()` then `await link.disconnect()`. Each
// connect and each disconnect has a 15 s limit: the run aborts with an error
// when one hangs. Recorded in the page, before the library is loaded:
//   - every microphone track: MediaDevices.prototype.getUserMedia wrapped;
//   - every RTCPeerConnection: globalThis.RTCPeerConnection replaced by a
//     subclass (wasm-bindgen looks it up at each `new`);
//   - every AudioContext the library uses: BaseAudioContext.prototype
//     createMediaStreamSource / createGain patched to note `this` (wasm-bindgen
//     captured the AudioContext class at load, so the constructor cannot be
//     wrapped).
// So that the bench's own records do not grow the heap it measures, objects
// already in their final state after a cycle (track "ended", connection
// "closed", context "closed": none can leave it) are counted and dropped; the
// others are kept and checked again at the end, after a bounded wait (2 s).
//   soak.cycles                    cycles completed
//   soak.live_tracks               mic tracks whose readyState is not "ended"
//   soak.open_peer_connections     RTCPeerConnections whose connectionState is not "closed"
//   soak.live_audio_contexts       AudioContexts whose state is not "closed"
//   soak.heap_growth_bytes         JS heap used (CDP HeapProfiler.collectGarbage, then
//                                  Runtime.getHeapUsage → usedSize) after the last cycle
//                                  minus the same after 5 warm-up cycles
// At the end the dev peer's GET /_dev/state must report sessionsOpen 0 (printed;
// the bench fails when it does not reach 0 within 10 s).
import { launchChromium, peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, newBenchPage } from "./lib.mjs";

export const name = "soak";
export const needsPeer = true;

const CYCLES = Number(process.env.BENCH_SOAK_CYCLES || 200);
const WARMUP = 5;
const STEP_TIMEOUT_MS = 15_000;

/** Installed before any page script: records mic tracks, peer connections, audio contexts. */
function pageInit() {
  const B = (window.__soak = {
    pending: { tracks: new Set(), pcs: new Set(), ctxs: new Set() },
    seen: { tracks: 0, pcs: 0, ctxs: 0 },
  });
  const note = (kind, obj) => {
    if (B.pending[kind].has(obj)) return;
    B.pending[kind].add(obj);
    B.seen[kind]++;
  };
  // Known objects: a WeakSet so that contexts already counted and dropped are not counted again.
  const knownCtx = new WeakSet();

  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (...args) {
    const s = await gum.apply(this, args);
    for (const t of s.getTracks()) note("tracks", t);
    return s;
  };

  const PC = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      note("pcs", this);
    }
  };

  for (const m of ["createMediaStreamSource", "createGain"]) {
    const orig = BaseAudioContext.prototype[m];
    BaseAudioContext.prototype[m] = function (...args) {
      if (!knownCtx.has(this)) {
        knownCtx.add(this);
        note("ctxs", this);
      }
      return orig.apply(this, args);
    };
  }

  const final = {
    tracks: (t) => t.readyState === "ended",
    pcs: (pc) => pc.connectionState === "closed",
    ctxs: (c) => c.state === "closed",
  };
  /** Drops the objects in their final state; returns how many are left per kind. */
  B.sweep = () => {
    const left = {};
    for (const kind of Object.keys(final)) {
      for (const o of B.pending[kind]) if (final[kind](o)) B.pending[kind].delete(o);
      left[kind] = B.pending[kind].size;
    }
    return left;
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

  /** Runs `n` cycles; returns per-cycle connect/disconnect ms. Throws on the first failure. */
  B.cycles = async (n) => {
    const times = { connect: [], disconnect: [] };
    for (let i = 0; i < n; i++) {
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
      B.sweep();
    }
    return times;
  };
}

export async function run() {
  const browser = await launchChromium();
  try {
    const page = await newBenchPage(browser, pageInit);
    await page.goto(`${peerUrl}/`);
    await page.evaluate(async (stepTimeoutMs) => {
      const { VoiceLink } = await import("/pkg/index.js");
      const B = window.__soak;
      B.stepTimeoutMs = stepTimeoutMs;
      B.done = 0;
      B.link = new VoiceLink({ url: location.origin + "/whip" });
    }, STEP_TIMEOUT_MS);

    const cdp = await page.context().newCDPSession(page);
    const heapUsed = async () => {
      await cdp.send("HeapProfiler.collectGarbage");
      await cdp.send("HeapProfiler.collectGarbage");
      return (await cdp.send("Runtime.getHeapUsage")).usedSize;
    };
    // Printed only: the wasm linear memory is outside the JS heap (init() returns the
    // module's exports once it is initialised).
    const wasmBytes = () =>
      page.evaluate(async () => (await (await import("/pkg/voicelink.js")).default())?.memory?.buffer?.byteLength ?? NaN);
    // Generous playwright limit: the page enforces the 15 s per connect/disconnect.
    const runCycles = (n) => page.evaluate((k) => window.__soak.cycles(k), n);

    const t0 = performance.now();
    const warm = Math.min(WARMUP, CYCLES);
    const times = await runCycles(warm);
    const heapWarm = await heapUsed();
    const wasmWarm = await wasmBytes();
    const rest = await runCycles(CYCLES - warm);
    times.connect.push(...rest.connect);
    times.disconnect.push(...rest.disconnect);
    const heapEnd = await heapUsed();
    const wasmEnd = await wasmBytes();
    const elapsed = (performance.now() - t0) / 1000;

    // Bounded wait for anything still closing, then the final count.
    const end = await page.evaluate(async () => {
      const B = window.__soak;
      const t = performance.now();
      let left = B.sweep();
      while ((left.tracks || left.pcs || left.ctxs) && performance.now() - t < 2000) {
        await new Promise((r) => setTimeout(r, 20));
        left = B.sweep();
      }
      const snap = B.link.getSnapshot();
      const states = {
        tracks: [...B.pending.tracks].map((x) => x.readyState),
        pcs: [...B.pending.pcs].map((x) => x.connectionState),
        ctxs: [...B.pending.ctxs].map((x) => x.state),
      };
      return { done: B.done, left, seen: B.seen, states, status: snap.status, teardownErrors: snap.teardownErrors };
    });
    await page.evaluate(() => window.__soak.link.dispose());

    let state = await peerJson("/_dev/state");
    await until(async () => (state = await peerJson("/_dev/state")).sessionsOpen === 0, {
      timeoutMs: 10_000,
      what: "the dev peer to report sessionsOpen 0",
    }).catch(() => {});
    console.log(`  dev peer: sessionsOpen ${state.sessionsOpen}, sessionsCreated ${state.sessionsCreated}`);

    const c = summary(times.connect);
    const d = summary(times.disconnect);
    console.log(`  ${end.done} cycles in ${elapsed.toFixed(1)} s; connect p50 ${c.p50.toFixed(0)} ms (max ${c.max.toFixed(0)}), disconnect p50 ${d.p50.toFixed(0)} ms (max ${d.max.toFixed(0)})`);
    console.log(`  created: ${end.seen.tracks} mic tracks, ${end.seen.pcs} peer connections, ${end.seen.ctxs} audio contexts`);
    console.log(`  left: ${end.left.tracks} live tracks, ${end.left.pcs} open peer connections, ${end.left.ctxs} live audio contexts ${JSON.stringify(end.states)}`);
    console.log(`  heap used: ${heapWarm} B after ${warm} warm-up cycles, ${heapEnd} B after ${end.done} (growth ${heapEnd - heapWarm} B, ${((heapEnd - heapWarm) / Math.max(1, end.done - warm)).toFixed(0)} B/cycle)`);
    console.log(`  wasm memory: ${wasmWarm} B after ${warm} warm-up cycles, ${wasmEnd} B after ${end.done}`);
    console.log(`  link after the last disconnect: status ${end.status}, teardownErrors ${JSON.stringify(end.teardownErrors)}`);
    if (end.seen.tracks < end.done || end.seen.pcs < end.done || end.seen.ctxs < end.done) {
      throw new Error(`fewer recorded objects than cycles (${JSON.stringify(end.seen)}): the patches missed something`);
    }
    if (state.sessionsOpen !== 0) throw new Error(`the dev peer still has ${state.sessionsOpen} open session(s)`);

    return {
      "soak.cycles": end.done,
      "soak.live_tracks": end.left.tracks,
      "soak.open_peer_connections": end.left.pcs,
      "soak.live_audio_contexts": end.left.ctxs,
      "soak.heap_growth_bytes": heapEnd - heapWarm,
    };
  } finally {
    await browser.close();
  }
}
