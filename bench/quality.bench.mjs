// Quality: what the library's periodic main-thread work costs, and how the
// quality grade follows real latency added on the path and removed.
//
// Setup: headless Chromium (flags from webdriver.json, fake microphone: its
// beeps) on the dev peer's demo page (http://127.0.0.1:7878/), which the dev
// peer echoes. The document is served with COOP same-origin + COEP
// require-corp added by the bench (playwright route), so the page is
// cross-origin isolated and performance.now() (and so User Timing) is
// coarsened to 5 µs instead of 100 µs (the smallest step seen is printed:
// 5–10 µs here); the run fails when it is not isolated. The demo page makes
// its own idle VoiceLink at load (no timers while idle); the bench's links
// come from `const { VoiceLink } = await import("/pkg/index.js")`.
//
// (a) quality.stats_tick_ms / quality.meter_tick_ms
//   One `new VoiceLink({ url, profile: true, statsIntervalMs: 1000 })`, no
//   subscriber (a subscriber runs inside the ticks: notify() is synchronous),
//   `await connect()`, wait for the first grade (not "unknown") and 1 s more,
//   then `performance.clearMeasures()` and TICK_MS (BENCH_QUALITY_TICK_MS,
//   default 20 000) connected. Then the durations of every
//   "voicelink:stats-tick" (one getStats() report processed: parsing, the
//   outage signal, every 4th one also a quality sample and grading; sampler
//   every 250 ms) and "voicelink:meter-tick" (two AnalyserNodes read, level
//   meters updated; every 50 ms) measure. Median stored; p90, max, mean,
//   count printed, and the stats ticks' medians by phase (i mod 4): the
//   grading tick has not stood out (grading is cheap next to parsing). Fails when the page is hidden, when fewer than half the
//   expected ticks were recorded, or when neither meter ever moved.
//
// (b) quality.grade_changes_latency_test
//   A second VoiceLink ({ profile: true, statsIntervalMs: 1000 }); a
//   subscriber, attached before connect(), records every (time, grade, rttMs,
//   jitterMs, packetLoss, limitedBy) it sees. connect(); wait for "excellent"
//   (bounded 10 s); POST /_dev/sessions/<sessionId>/delay?ms=180 (from the
//   page; retried while it answers 404, bounded 5 s); wait for "poor"
//   (bounded 20 s); POST …/delay?ms=0; wait for "excellent" (bounded 20 s);
//   then TAIL_MS (3 s) more to catch a flap right after recovery. The
//   subscriber is removed before disconnect() (which reads "lost").
//   Stored: grade changes the subscriber saw (consecutive distinct grades)
//   minus the first "unknown" → first grade. Ideal 2 (excellent → poor →
//   excellent) or 4 ("good" in between both ways). Printed: the series, the
//   times from each delay change to the first grade change and to the target
//   grade, and the browser's own selected candidate-pair currentRoundTripTime
//   (the bench's getStats() every 1 s on the RTCPeerConnection, recorded by
//   subclassing it) to tell the browser's RTT lag from the library's.
//   Fails when a bounded wait runs out (after printing what was seen).
import { launchChromium, peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, round, percentile, newBenchPage } from "./lib.mjs";

export const name = "quality";
export const needsPeer = true;

const TICK_MS = Number(process.env.BENCH_QUALITY_TICK_MS || 20_000);
const DELAY_MS = 180;
const GRADE_TIMEOUT_MS = 20_000;
const TAIL_MS = 3_000;
const SWITCH_RETRY_MS = 5_000;

/** Installed before any page script: records peer connections; small helpers. */
function pageInit() {
  const B = (window.__q = { pcs: [], series: [], raw: [], marks: [] });
  const PC = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      B.pcs.push(this);
    }
  };
  B.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
}

/** In the page: (a) the tick measures over `tickMs` connected. */
async function tickWindow({ tickMs }) {
  const B = window.__q;
  if (!crossOriginIsolated) throw new Error("the page is not cross-origin isolated: User Timing would have 100 µs resolution");
  if (document.visibilityState !== "visible") throw new Error(`document.visibilityState is ${document.visibilityState}: the meters would not run`);
  const { VoiceLink } = await import("/pkg/index.js");
  const link = new VoiceLink({ url: location.origin + "/whip", profile: true, statsIntervalMs: 1000 });
  try {
    await link.connect();
    const t0 = performance.now();
    while (link.getSnapshot().quality.grade === "unknown" && performance.now() - t0 < 10_000) await B.sleep(50);
    const first = link.getSnapshot().quality;
    if (first.grade === "unknown") throw new Error("no quality grade 10 s after connect()");
    await B.sleep(1000);
    // Timer resolution as the page sees it: smallest non-zero step of performance.now().
    let res = Infinity;
    for (let i = 0, a = performance.now(); i < 200_000 && res === Infinity; i++) {
      const b = performance.now();
      if (b > a) res = b - a;
    }
    performance.clearMeasures();
    const from = performance.now();
    let micMax = 0;
    let remoteMax = 0;
    let statuses = new Set();
    while (performance.now() - from < tickMs) {
      await B.sleep(250);
      const s = link.getSnapshot();
      micMax = Math.max(micMax, s.micLevel || 0);
      remoteMax = Math.max(remoteMax, s.remoteLevel || 0);
      statuses.add(s.status);
    }
    const windowMs = performance.now() - from;
    const pick = (name) => performance.getEntriesByName(name).map((e) => e.duration);
    const stats = pick("voicelink:stats-tick");
    const meter = pick("voicelink:meter-tick");
    const statsStarts = performance.getEntriesByName("voicelink:stats-tick").map((e) => e.startTime);
    const q = link.getSnapshot().quality;
    return { stats, statsStarts, meter, windowMs, res, micMax, remoteMax, statuses: [...statuses], firstGrade: first.grade, grade: q.grade, rttMs: q.rttMs };
  } finally {
    await link.disconnect().catch(() => {});
    link.dispose();
  }
}

/** In the page: (b) connect the latency link with its subscriber; resolves with the session id. */
async function latencyStart() {
  const B = window.__q;
  const { VoiceLink } = await import("/pkg/index.js");
  const link = (B.link = new VoiceLink({ url: location.origin + "/whip", profile: true, statsIntervalMs: 1000 }));
  B.series = [];
  B.marks = [];
  B.raw = [];
  B.t0 = performance.now();
  let last = null;
  B.off = link.subscribe(() => {
    const q = link.getSnapshot().quality;
    const key = `${q.grade} ${q.rttMs} ${q.jitterMs} ${q.packetLoss}`;
    if (key === last) return;
    last = key;
    B.series.push({ t: performance.now() - B.t0, grade: q.grade, rttMs: q.rttMs, jitterMs: q.jitterMs, packetLoss: q.packetLoss, limitedBy: [...q.limitedBy] });
  });
  const before = B.pcs.length;
  await link.connect();
  const pc = B.pcs[B.pcs.length - 1];
  if (B.pcs.length === before || !pc) throw new Error("connect() resolved but no RTCPeerConnection was recorded");
  // The browser's own RTT figure, once a second (selected candidate pair).
  B.rawTimer = setInterval(async () => {
    try {
      const report = await pc.getStats();
      let pairId = null;
      report.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId && report.get(pairId);
      let rri = null;
      report.forEach((s) => {
        if (s.type === "remote-inbound-rtp" && s.kind === "audio") rri = s.roundTripTime;
      });
      B.raw.push({ t: performance.now() - B.t0, pairRttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null, rriRttMs: rri != null ? rri * 1000 : null, responses: pair?.responsesReceived ?? null });
    } catch {}
  }, 1000);
  const id = link.getSnapshot().sessionId;
  if (!id) throw new Error("connected but the snapshot has no sessionId");
  return id;
}

/** In the page: wait (bounded) until the grade is `grade`; resolves with ms waited or throws. */
async function waitGrade({ grade, timeoutMs }) {
  const B = window.__q;
  const t0 = performance.now();
  while (B.link.getSnapshot().quality.grade !== grade) {
    if (performance.now() - t0 > timeoutMs) {
      const q = B.link.getSnapshot().quality;
      throw new Error(`grade not "${grade}" after ${timeoutMs} ms (grade ${q.grade}, rttMs ${q.rttMs}, jitterMs ${q.jitterMs}, packetLoss ${q.packetLoss}, status ${B.link.getSnapshot().status})`);
    }
    await B.sleep(20);
  }
  return { at: performance.now() - B.t0, waited: performance.now() - t0 };
}

/** In the page: POST the delay switch; retried while it answers 404 (bounded). */
async function setDelay({ id, ms, retryMs }) {
  const B = window.__q;
  const url = `/_dev/sessions/${encodeURIComponent(id)}/delay?ms=${ms}`;
  const t0 = performance.now();
  let tries = 0;
  for (;;) {
    tries++;
    const res = await fetch(url, { method: "POST" });
    const body = await res.text();
    if (res.status === 200) {
      const at = performance.now() - B.t0;
      B.marks.push({ t: at, delayMs: ms });
      return { at, tries, body: body.trim() };
    }
    if (res.status !== 404 || performance.now() - t0 > retryMs) {
      throw new Error(`POST ${url}: HTTP ${res.status} ${body.trim()} (after ${tries} tries in ${(performance.now() - t0).toFixed(0)} ms)`);
    }
    await B.sleep(250);
  }
}

/** In the page: stop observing and end the latency link; resolves with what was seen. */
async function latencyEnd() {
  const B = window.__q;
  clearInterval(B.rawTimer);
  if (B.off) B.off();
  B.off = null;
  if (B.link) {
    await B.link.disconnect().catch(() => {});
    B.link.dispose();
    B.link = null;
  }
  return { series: B.series, raw: B.raw, marks: B.marks };
}

function fmtSeries(series) {
  return series.map(
    (s) =>
      `    ${(s.t / 1000).toFixed(2).padStart(6)} s  ${s.grade.padEnd(9)} rtt ${s.rttMs == null ? "-" : s.rttMs.toFixed(1)} ms` +
      `  jitter ${s.jitterMs == null ? "-" : s.jitterMs.toFixed(1)} ms  loss ${s.packetLoss == null ? "-" : s.packetLoss.toFixed(2)} %` +
      (s.limitedBy.length ? `  limitedBy ${s.limitedBy.join(",")}` : ""),
  );
}

function fmtRaw(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 6) {
    out.push(
      "    " +
        raw
          .slice(i, i + 6)
          .map((r) => `${(r.t / 1000).toFixed(1)}s:${r.pairRttMs == null ? "-" : r.pairRttMs.toFixed(0)}/${r.rriRttMs == null ? "-" : r.rriRttMs.toFixed(0)}`)
          .join("  "),
    );
  }
  return out;
}

/** Grades in order, consecutive duplicates removed. */
function gradeRuns(series) {
  const g = [];
  for (const s of series) if (g[g.length - 1] !== s.grade) g.push(s.grade);
  return g;
}

function printTicks(label, d, expected) {
  const s = summary(d);
  console.log(
    `  ${label}: n ${s.n} (expected ~${expected}), p50 ${s.p50.toFixed(3)} ms, p90 ${s.p90.toFixed(3)} ms, ` +
      `max ${s.max.toFixed(3)} ms, min ${s.min.toFixed(3)} ms, mean ${s.mean.toFixed(3)} ms, total ${(s.mean * s.n).toFixed(1)} ms`,
  );
  return s;
}

export async function run() {
  const browser = await launchChromium();
  const t0 = Date.now();
  try {
    const page = await newBenchPage(browser);
    // Cross-origin isolation for 5 µs timers: COOP/COEP on the document only
    // (everything else the page loads is same-origin).
    await page.route(`${peerUrl}/`, async (route) => {
      const res = await route.fetch();
      await route.fulfill({
        response: res,
        headers: { ...res.headers(), "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" },
      });
    });
    await page.addInitScript(pageInit);
    await page.goto(`${peerUrl}/`);
    await page.evaluate(() => import("/pkg/index.js"));

    // (a) tick costs.
    const a = await page.evaluate(tickWindow, { tickMs: TICK_MS });
    console.log(
      `  tick window: ${(a.windowMs / 1000).toFixed(1)} s connected (status ${a.statuses.join(",")}), timer resolution ${(a.res * 1000).toFixed(1)} µs, ` +
        `grade ${a.firstGrade} → ${a.grade} (rtt ${a.rttMs} ms), micLevel max ${a.micMax.toFixed(3)}, remoteLevel max ${a.remoteMax.toFixed(3)}`,
    );
    const expStats = Math.round(a.windowMs / 250);
    const expMeter = Math.round(a.windowMs / 50);
    if (a.statuses.length !== 1 || a.statuses[0] !== "connected") throw new Error(`the link was not connected throughout the tick window: ${a.statuses}`);
    if (a.stats.length < expStats / 2) throw new Error(`only ${a.stats.length} voicelink:stats-tick measures in ${a.windowMs.toFixed(0)} ms (expected ~${expStats}): is profile honoured?`);
    if (a.meter.length < expMeter / 2) throw new Error(`only ${a.meter.length} voicelink:meter-tick measures in ${a.windowMs.toFixed(0)} ms (expected ~${expMeter})`);
    if (!(a.micMax > 0 || a.remoteMax > 0)) throw new Error("neither level meter moved during the tick window: the meters read no audio");
    const st = printTicks("stats-tick", a.stats, expStats);
    // Only every 4th stats tick (statsIntervalMs 1000 / sampler 250 ms) grades a quality sample:
    // the medians of the four tick phases (by position in the window) show what grading adds.
    const phases = [0, 1, 2, 3].map((k) => a.stats.filter((_, i) => i % 4 === k));
    console.log(`    stats-tick medians by phase (i mod 4): ${phases.map((p) => percentile(p, 50).toFixed(3)).join(" / ")} ms`);
    const gaps = a.statsStarts.slice(1).map((t, i) => t - a.statsStarts[i]);
    const g = summary(gaps);
    console.log(`    stats-tick spacing: p50 ${g.p50.toFixed(1)} ms, min ${g.min.toFixed(1)}, max ${g.max.toFixed(1)}`);
    const mt = printTicks("meter-tick", a.meter, expMeter);

    // (b) grade changes with latency added and removed.
    let seen = null;
    let failure = null;
    const steps = {};
    try {
      const id = await page.evaluate(latencyStart);
      steps.excellent0 = await page.evaluate(waitGrade, { grade: "excellent", timeoutMs: 10_000 });
      steps.delayOn = await page.evaluate(setDelay, { id, ms: DELAY_MS, retryMs: SWITCH_RETRY_MS });
      steps.poor = await page.evaluate(waitGrade, { grade: "poor", timeoutMs: GRADE_TIMEOUT_MS });
      steps.delayOff = await page.evaluate(setDelay, { id, ms: 0, retryMs: SWITCH_RETRY_MS });
      steps.excellent1 = await page.evaluate(waitGrade, { grade: "excellent", timeoutMs: GRADE_TIMEOUT_MS });
      await new Promise((r) => setTimeout(r, TAIL_MS));
    } catch (e) {
      failure = e;
    } finally {
      seen = await page.evaluate(latencyEnd).catch((e) => (failure ||= e, null));
    }

    let changes = NaN;
    if (seen) {
      console.log(`  series seen by the subscriber (time since subscribe; grade, smoothed rttMs, jitterMs, packetLoss):`);
      for (const line of fmtSeries(seen.series)) console.log(line);
      for (const m of seen.marks) console.log(`    delay ${m.delayMs} ms set (200) at ${(m.t / 1000).toFixed(2)} s`);
      console.log(`  browser's own RTT, ms (selected pair currentRoundTripTime / remote-inbound-rtp roundTripTime), once a second:`);
      for (const line of fmtRaw(seen.raw)) console.log(line);
      const runs = gradeRuns(seen.series);
      changes = runs.length - 1 - (runs[0] === "unknown" ? 1 : 0);
      console.log(`  grades: ${runs.join(" → ")}  (${changes} changes after the first grade)`);
      for (const m of seen.marks) {
        const before = seen.series.filter((s) => s.t <= m.t).at(-1)?.grade;
        const firstChange = seen.series.find((s) => s.t > m.t && s.grade !== before);
        const target = m.delayMs > 0 ? "poor" : "excellent";
        const reached = seen.series.find((s) => s.t > m.t && s.grade === target);
        const rawCross = seen.raw.find((r) => r.t > m.t && r.pairRttMs != null && (m.delayMs > 0 ? r.pairRttMs >= 110 : r.pairRttMs < 45));
        console.log(
          `  delay → ${m.delayMs} ms: first grade change after ${firstChange ? ((firstChange.t - m.t) / 1000).toFixed(2) + " s (" + firstChange.grade + ")" : "none"}, ` +
            `"${target}" after ${reached ? ((reached.t - m.t) / 1000).toFixed(2) + " s" : "never"}; ` +
            `browser pair RTT ${m.delayMs > 0 ? "≥ 110" : "< 45"} ms after ${rawCross ? "≤ " + ((rawCross.t - m.t) / 1000).toFixed(1) + " s" : "never (in the 1 s polls)"}`,
        );
      }
    }
    for (const [k, v] of Object.entries(steps)) {
      console.log(`    step ${k.padEnd(10)} at ${(v.at / 1000).toFixed(2)} s${v.waited != null ? `, waited ${(v.waited / 1000).toFixed(2)} s` : ""}${v.tries != null ? `, ${v.tries} POST(s), answer ${JSON.stringify(v.body)}` : ""}`);
    }
    if (failure) throw failure;

    await until(async () => (await peerJson("/_dev/state")).sessionsOpen === 0, {
      timeoutMs: 10_000,
      what: "the dev peer to report sessionsOpen 0",
    }).catch((e) => console.warn(`  warning: ${e.message}`));
    console.log(`  (browser part ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    return {
      "quality.stats_tick_ms": round(st.p50, 3),
      "quality.meter_tick_ms": round(mt.p50, 3),
      "quality.grade_changes_latency_test": changes,
    };
  } finally {
    await browser.close();
  }
}
