// Teardown: how audible ending a call is, and how fast the microphone is released.
//
// Setup: headless Chromium (flags from webdriver.json) whose fake microphone plays
// a steady 440 Hz sine at 0.5 full scale (bench/tone.mjs writes a 48 kHz mono WAV
// of whole cycles, passed with --use-file-for-fake-audio-capture). The dev peer on
// loopback echoes it back (Opus), so the page plays that tone.
//
// (a) teardown.pop_ratio / teardown.pop_ratio_naive
//   The played signal is tapped inside the playing AudioContext: an AudioWorklet
//   (loaded from a blob: URL) is connected to the node whose output goes to the
//   speakers — for voicelink the library's GainNode (found by patching
//   AudioNode.prototype.connect: the GainNode connected to an AudioDestinationNode),
//   for the naive teardown the MediaStreamAudioSourceNode. The worklet posts every
//   128-frame render quantum (all channels, with its currentFrame) to the page.
//   After ~1.5 s of steady tone the teardown is started; the page notes the
//   context's frame at that call (ctx.currentTime × sampleRate). When the context
//   has closed, its output is silence from the next frame on, so one 0 sample is
//   appended after the last recorded one (a speaker goes silent when the graph
//   stops).
//   step(i) = max over channels |x[i] − x[i−1]|.
//   steady  = max step over [call − 1050 ms, call − 50 ms)   (1 s before teardown)
//   pop     = max step over [call − 50 ms, call + 50 ms), the step to the
//             appended 0 included (when the context renders past call + 50 ms
//             the window runs on to that 0, so the final step always counts)
//   ratio   = pop / steady. A run fails loudly when steady < 0.005 (no tone),
//   or when the recording has a gap (a missing render quantum) anywhere from
//   the steady window on (gaps at the tap's very start are ignored).
//   voicelink: `link.disconnect()` with the default fadeOutMs (20 ms ramp, then
//   the library stops playback and closes the context).
//   naive (what seed 000 did): a raw RTCPeerConnection to the same dev peer
//   (POST /whip, DELETE Location afterwards) with the same getUserMedia
//   constraints, the remote stream on a muted playing <audio> and
//   AudioContext source → destination, torn down by
//   `el.pause(); el.srcObject = null; ctx.close()`, no fade.
//   RUNS (BENCH_TEARDOWN_RUNS, default 5) of each, alternating; the medians are
//   stored, every run is printed. A hard cut's step is the tone's value at the
//   cut, 0.5·|sin φ|, so a naive run reads anywhere from ~1 (cut at a zero
//   crossing) to ~15.6 (at a peak) depending on the phase; its median over 5
//   runs moves between runs (6–14 seen). voicelink's runs read ~0.99 (the
//   largest step is an ordinary one of the tone before or during the ramp).
//
// (b) teardown.mic_ended_ms
//   getUserMedia is wrapped to record the microphone tracks. After `await
//   link.connect()`: t0 = performance.now(); link.disconnect(); then the tracks
//   are checked at once, then after each microtask (up to 10 000), then after
//   each task (MessageChannel), until every track reads readyState "ended";
//   t1 = performance.now() at that check. Median of t1 − t0 over MIC_RUNS
//   (BENCH_TEARDOWN_MIC_RUNS, default 10) connect/disconnect cycles of one
//   VoiceLink, ms (performance.now() resolution, 0.1 ms in Chromium here).
import { launchChromium, chromeOptions, peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, round, percentile, newBenchPage } from "./lib.mjs";
import { writeTone } from "./tone.mjs";

export const name = "teardown";
export const needsPeer = true;

const RUNS = Number(process.env.BENCH_TEARDOWN_RUNS || 5);
const MIC_RUNS = Number(process.env.BENCH_TEARDOWN_MIC_RUNS || 10);
const STEADY_FLOOR = 0.005;

/** Installed before any page script: records mic tracks and the library's playback GainNodes. */
function pageInit() {
  const B = (window.__bench = { micTracks: [], playNodes: [] });
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (...args) {
    const s = await gum.apply(this, args);
    for (const t of s.getTracks()) B.micTracks.push(t);
    return s;
  };
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (dest, ...rest) {
    if (this instanceof GainNode && dest instanceof AudioDestinationNode) B.playNodes.push(this);
    return connect.call(this, dest, ...rest);
  };

  const TAP = `
    class Tap extends AudioWorkletProcessor {
      process(inputs) {
        const inp = inputs[0];
        if (inp && inp.length) this.port.postMessage({ frame: currentFrame, ch: inp.map((c) => c.slice()) });
        return true;
      }
    }
    registerProcessor("bench-tap", Tap);`;
  const tapUrl = URL.createObjectURL(new Blob([TAP], { type: "text/javascript" }));

  /** Taps `node` (in `ctx`): returns { chunks } that fills while the context renders. */
  B.tap = async (ctx, node) => {
    await ctx.audioWorklet.addModule(tapUrl);
    const tap = new AudioWorkletNode(ctx, "bench-tap", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    const rec = { chunks: [], tap };
    tap.port.onmessage = (e) => rec.chunks.push(e.data);
    connect.call(node, tap);
    connect.call(tap, ctx.destination); // the tap outputs silence; this keeps it rendered
    return rec;
  };

  B.sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /** Waits (bounded) for the context to be closed, then for the tap's last messages. */
  B.afterClose = async (ctx) => {
    const t0 = performance.now();
    while (ctx.state !== "closed" && performance.now() - t0 < 3000) await B.sleep(5);
    if (ctx.state !== "closed") throw new Error(`AudioContext still ${ctx.state} 3 s after teardown`);
    await B.sleep(200);
  };

  /** The measurement described in the file's header. */
  B.analyse = (rec, sampleRate, callFrame) => {
    const chunks = [...rec.chunks].sort((a, b) => a.frame - b.frame);
    if (chunks.length === 0) throw new Error("the tap recorded nothing");
    const first = chunks[0].frame;
    const nch = Math.max(...chunks.map((c) => c.ch.length));
    const last = chunks[chunks.length - 1];
    const len = last.frame + last.ch[0].length - first + 1; // + the appended 0
    const x = Array.from({ length: nch }, () => new Float32Array(len));
    const valid = new Uint8Array(len);
    valid[len - 1] = 1; // the appended 0
    const gaps = [];
    let expect = first;
    for (const c of chunks) {
      if (c.frame !== expect) gaps.push({ atFrame: c.frame - callFrame, frames: c.frame - expect });
      expect = c.frame + c.ch[0].length;
      for (let k = 0; k < nch; k++) x[k].set(c.ch[Math.min(k, c.ch.length - 1)], c.frame - first);
      valid.fill(1, c.frame - first, c.frame - first + c.ch[0].length);
    }
    const ms = (m) => Math.round((m * sampleRate) / 1000);
    const c = callFrame - first;
    const steadyFrom = c - ms(1050);
    const winFrom = c - ms(50);
    const winTo = Math.max(c + ms(50), len); // extended to the appended 0 when the context closes later
    if (len - 1 < winFrom) throw new Error("the recording ended before the teardown window: the tap stopped early");
    if (steadyFrom < 1) throw new Error(`the recording starts only ${((c / sampleRate) * 1000).toFixed(0)} ms before the teardown call`);
    for (let i = steadyFrom - 1; i < len; i++) {
      if (!valid[i]) throw new Error(`the recording has a gap ${(((i - c) / sampleRate) * 1000).toFixed(1)} ms from the teardown call`);
    }
    // Largest step x[i-1] → x[i] over channels, for i in [from, to).
    const maxStep = (from, to) => {
      let best = 0;
      let at = from;
      for (let i = from; i < Math.min(len, to); i++) {
        for (let k = 0; k < nch; k++) {
          const d = Math.abs(x[k][i] - x[k][i - 1]);
          if (d > best) [best, at] = [d, i];
        }
      }
      return { best, at };
    };
    const steady = maxStep(steadyFrom, winFrom);
    const win = maxStep(winFrom, winTo);
    let peak = 0;
    for (let i = steadyFrom; i < winFrom; i++) for (let k = 0; k < nch; k++) peak = Math.max(peak, Math.abs(x[k][i]));
    const toMs = (i) => ((i - c) / sampleRate) * 1000;
    return {
      steady: steady.best,
      pop: win.best,
      popAtMs: toMs(win.at),
      endMs: toMs(len - 1), // where the appended 0 sits, relative to the call
      peak,
      gaps: gaps.length,
      channels: nch,
      sampleRate,
    };
  };
}

const AUDIO = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

/** In the page: one voicelink call, steady tone, then `link.disconnect()`. */
async function voicelinkRun({ audio, steadyMs }) {
  const B = window.__bench;
  const { VoiceLink } = await import("/pkg/index.js");
  const link = new VoiceLink({ url: location.origin + "/whip", audio });
  try {
    const before = B.playNodes.length;
    await link.connect();
    const t0 = performance.now();
    while (B.playNodes.length === before && performance.now() - t0 < 5000) await B.sleep(5);
    if (B.playNodes.length === before) throw new Error("voicelink connected but no GainNode → destination was seen");
    const gain = B.playNodes[B.playNodes.length - 1];
    const ctx = gain.context;
    const rec = await B.tap(ctx, gain);
    await B.sleep(steadyMs);
    const callFrame = Math.round(ctx.currentTime * ctx.sampleRate);
    const closing = link.disconnect();
    await closing;
    await B.afterClose(ctx);
    const r = B.analyse(rec, ctx.sampleRate, callFrame);
    r.teardownErrors = link.getSnapshot().teardownErrors;
    return r;
  } finally {
    link.dispose();
  }
}

/** In the page: the naive call and teardown (seed 000): no fade, hard close. */
async function naiveRun({ audio, steadyMs }) {
  const B = window.__bench;
  const mic = await navigator.mediaDevices.getUserMedia({ audio: { ...audio, channelCount: 1 }, video: false });
  const pc = new RTCPeerConnection();
  let sessionUrl = null;
  try {
    const track = mic.getAudioTracks()[0];
    pc.addTrack(track, mic);
    const remote = new Promise((resolve) => {
      pc.ontrack = (e) => resolve(e.streams[0] || new MediaStream([e.track]));
    });
    await pc.setLocalDescription(await pc.createOffer());
    const t0 = performance.now();
    while (pc.iceGatheringState !== "complete" && performance.now() - t0 < 5000) await B.sleep(5);
    const res = await fetch("/whip", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error(`POST /whip: HTTP ${res.status} ${await res.text()}`);
    sessionUrl = res.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    const stream = await Promise.race([remote, B.sleep(10_000).then(() => Promise.reject(new Error("naive: no remote track within 10 s")))]);
    const t1 = performance.now();
    while (pc.connectionState !== "connected" && performance.now() - t1 < 10_000) await B.sleep(5);
    if (pc.connectionState !== "connected") throw new Error(`naive peer connection ${pc.connectionState}`);

    const ctx = new AudioContext();
    const el = new Audio();
    el.muted = true;
    el.srcObject = stream;
    const src = ctx.createMediaStreamSource(stream);
    src.connect(ctx.destination);
    el.play().catch(() => {});
    const rec = await B.tap(ctx, src);
    await B.sleep(steadyMs);

    const callFrame = Math.round(ctx.currentTime * ctx.sampleRate);
    el.pause();
    el.srcObject = null;
    ctx.close();

    await B.afterClose(ctx);
    for (const t of stream.getTracks()) t.stop();
    return B.analyse(rec, ctx.sampleRate, callFrame);
  } finally {
    for (const t of mic.getTracks()) t.stop();
    pc.close();
    if (sessionUrl) await fetch(new URL(sessionUrl, document.baseURI), { method: "DELETE" }).catch(() => {});
  }
}

/** In the page: one connect, then the time from `link.disconnect()` to every mic track ended. */
async function micEndedRun({ audio }) {
  const B = window.__bench;
  const { VoiceLink } = await import("/pkg/index.js");
  const link = (B.micLink ||= new VoiceLink({ url: location.origin + "/whip", audio }));
  const from = B.micTracks.length;
  await link.connect();
  const tracks = B.micTracks.slice(from);
  if (tracks.length === 0) throw new Error("connect() resolved but no getUserMedia track was recorded");
  if (!tracks.every((t) => t.readyState === "live")) throw new Error("a mic track is not live after connect()");
  const allEnded = () => tracks.every((t) => t.readyState === "ended");

  const t0 = performance.now();
  const closing = link.disconnect();
  let t1 = allEnded() ? performance.now() : 0;
  let how = "sync";
  if (!t1) {
    how = "microtask";
    for (let i = 0; i < 10_000 && !t1; i++) {
      await Promise.resolve();
      if (allEnded()) t1 = performance.now();
    }
  }
  if (!t1) {
    how = "task";
    const mc = new MessageChannel();
    const nextTask = () => new Promise((r) => ((mc.port1.onmessage = r), mc.port2.postMessage(0)));
    while (!t1 && performance.now() - t0 < 5000) {
      await nextTask();
      if (allEnded()) t1 = performance.now();
    }
    mc.port1.close();
  }
  await closing;
  if (!t1) throw new Error("mic tracks still live 5 s after disconnect()");
  return { ms: t1 - t0, how, tracks: tracks.length };
}

export async function run() {
  const tone = writeTone();
  console.log(`  fake microphone: ${tone.path} (440 Hz, 0.5, 48 kHz mono, ${tone.cycles} cycles)`);
  const { args } = chromeOptions();
  if (!args.some((a) => a === "--headless" || a.startsWith("--headless="))) args.push("--headless=new");
  args.push(`--use-file-for-fake-audio-capture=${tone.path}`);
  const browser = await launchChromium({ args });
  try {
    const page = await newBenchPage(browser, pageInit);
    await page.goto(`${peerUrl}/`);
    await page.evaluate(() => import("/pkg/index.js"));

    // (a) pop, alternating voicelink and naive.
    const opts = { audio: AUDIO, steadyMs: 1500 };
    const ratios = { voicelink: [], naive: [] };
    const fmt = (r) =>
      `steady ${r.steady.toFixed(4)} pop ${r.pop.toFixed(4)} ratio ${(r.pop / r.steady).toFixed(3)} ` +
      `(largest step at ${r.popAtMs.toFixed(1)} ms, context silent from ${r.endMs.toFixed(1)} ms after the call${r.endMs > 50 ? " (window extended)" : ""}; ` +
      `peak ${r.peak.toFixed(3)}, ${r.channels} ch @ ${r.sampleRate} Hz${r.gaps ? `; ${r.gaps} gap(s) before the steady window, ignored` : ""})`;
    for (let i = 0; i < RUNS; i++) {
      for (const [kind, fn] of [["voicelink", voicelinkRun], ["naive", naiveRun]]) {
        const r = await page.evaluate(fn, opts);
        console.log(`  pop ${kind.padEnd(9)} #${i + 1}: ${fmt(r)}`);
        if (r.teardownErrors && r.teardownErrors.length) console.log(`    teardownErrors: ${JSON.stringify(r.teardownErrors)}`);
        if (!(r.steady >= STEADY_FLOOR)) {
          throw new Error(`${kind} run ${i + 1}: steady largest step ${r.steady} < ${STEADY_FLOOR}: the echoed tone is not playing`);
        }
        ratios[kind].push(r.pop / r.steady);
      }
    }

    // (b) mic release.
    const micMs = [];
    const hows = {};
    for (let i = 0; i < MIC_RUNS; i++) {
      const r = await page.evaluate(micEndedRun, { audio: AUDIO });
      micMs.push(r.ms);
      hows[r.how] = (hows[r.how] || 0) + 1;
    }
    await page.evaluate(() => window.__bench.micLink?.dispose());

    await until(async () => (await peerJson("/_dev/state")).sessionsOpen === 0, {
      timeoutMs: 10_000,
      what: "the dev peer to report sessionsOpen 0",
    }).catch((e) => console.warn(`  warning: ${e.message}`));

    const v = summary(ratios.voicelink);
    const n = summary(ratios.naive);
    const m = summary(micMs);
    console.log(`  pop ratio voicelink: median ${v.p50.toFixed(3)} (min ${v.min.toFixed(3)}, max ${v.max.toFixed(3)})`);
    console.log(`  pop ratio naive:     median ${n.p50.toFixed(3)} (min ${n.min.toFixed(3)}, max ${n.max.toFixed(3)})`);
    console.log(`  mic ended after disconnect(): median ${m.p50.toFixed(2)} ms, p90 ${m.p90.toFixed(2)}, min ${m.min.toFixed(2)}, max ${m.max.toFixed(2)} (seen ended: ${JSON.stringify(hows)})`);
    console.log(`  all (ms): ${micMs.map((t) => t.toFixed(2)).join(" ")}`);
    return {
      "teardown.pop_ratio": round(percentile(ratios.voicelink, 50), 3),
      "teardown.pop_ratio_naive": round(percentile(ratios.naive, 50), 3),
      "teardown.mic_ended_ms": round(m.p50, 2),
    };
  } finally {
    await browser.close();
  }
}
