// Devices and the network (issue 15): how long an unmute takes to be heard, how much of
// the uplink a microphone switch silences, and how fast the browser's `offline` event
// becomes a status.
//
// Runs in headless Chromium, then headless Firefox ESR (VOICELINK_BROWSERS, default both;
// bench/lib.mjs perBrowser), the same page code; Firefox's keys end in ".firefox". The demo
// page, `import("/pkg/index.js")`, against the dev peer on loopback.
//
// The microphone is a steady tone, so every uplink packet of a live capture is audible and a
// silent stretch at the dev peer means the capture was not reaching the wire (Chromium's
// default fake microphone beeps: about a third of its packets are audible, with ~360 ms
// between beeps, which would swamp these figures). It is the browser's own fake capture
// device, not a getUserMedia override, so an unmute or a switch pays a real capture start:
//   Chromium: --use-file-for-fake-audio-capture with bench/tone.mjs's 440 Hz sine at 0.5
//     (a looped 48 kHz WAV of whole cycles); every fake input device plays it.
//   Firefox: its fake microphone (media.navigator.streams.fake) is a steady sine of
//     amplitude 0.1; media.navigator.audio.fake_frequency puts it at 440 Hz.
//     privacy.reduceTimerPrecision is off (performance.now() in 20 µs rather than 1 ms steps).
// Every link is made with audio processing off (echoCancellation, noiseSuppression,
// autoGainControl false): a noise suppressor takes a steady tone for noise and fades it,
// which would make "audible" depend on the suppressor rather than on the library. The
// browser-side probe is not installed: these figures are read at the dev peer.
//
// The dev peer judges every uplink RTP packet by its RFC 6464 audio level (audible: louder
// than -50 dBov) and reports per session (GET /_dev/state) `lastAudibleInAtMs` and
// `uplinkSilentGaps`: the last 16 gaps of over 60 ms between two consecutive audible packets,
// { startMs, endMs } = arrival of the last audible packet before the gap and of the audible
// packet that ended it, in epoch ms of the machine's wall clock. The page's `Date.now()` is
// the same clock (same machine), so the two are compared directly.
//
// (a) devices.unmute_to_uplink_ms (muteReleasesMic: true, the default) and
//     devices.unmute_to_uplink_ms_disabled (muteReleasesMic: false), one connection each,
//     CYCLES cycles (BENCH_DEVICES_CYCLES, default 15) in it: `await setMicEnabled(false)`;
//     MUTE_MS (400) later the peer must have heard nothing audible for at least
//     MUTE_MS − 150 ms (else the mute did not silence the uplink: the bench fails); then
//     t0 = Date.now() in the page, `setMicEnabled(true)`; node polls /_dev/state until
//     `lastAudibleInAtMs` > t0 (≤ 3 s, else fail). The gap spanning t0 (startMs < t0 < endMs)
//     ends at the first audible packet after the unmute: endMs − t0. Then UNMUTED_MS (300)
//     of tone before the next cycle. Median over the cycles. Printed too: how long
//     `setMicEnabled(true)` took to resolve.
// (b) devices.switch_gap_ms, one connection (default options), SWITCHES switches
//     (BENCH_DEVICES_SWITCHES, default 15) alternating between two inputs of
//     `listMicrophones()`: two distinct devices other than Chromium's "default" /
//     "communications" aliases when there are two, else "default" and the one device
//     (Firefox's fake capture lists one). A switch: t0 = Date.now(), `await
//     setMicrophone(id)` (snapshot micDeviceId must read id after, and the page's record of
//     RTCRtpSender.replaceTrack must show a live track of that device put in, so a 0 is not
//     "nothing happened"; the page records getUserMedia and replaceTrack calls, changing
//     neither), t1 = Date.now(); node
//     polls until `lastAudibleInAtMs` > t1 + SETTLE_MS (200) (≤ 3 s: the new device is heard,
//     and every gap that began before t1 + SETTLE_MS has ended). The switch's gap = the summed
//     length (endMs − startMs) of the silent gaps that overlap [t0, t1 + SETTLE_MS]; 0 when
//     none (no stretch over 60 ms without an audible packet). Median over the switches.
//     The session must stay the same (no renegotiation). After each switch a control
//     window, the same measure over [t0, t1 + SETTLE_MS] with t1 = t0 + ~15 ms and no call
//     in it, is printed (not stored): on a loaded machine the uplink has gaps over 60 ms
//     without any switch, and those count against the switch too.
// (c) reconnect.offline_detect_ms, OFFLINE_RUNS runs (BENCH_DEVICES_OFFLINE_RUNS, default 10),
//     a new link each (manual policy), connected, 300 ms of call: t0 = performance.now(),
//     `window.dispatchEvent(new Event("offline"))`; the link's `subscribe()` callback notes
//     performance.now() of the first snapshot whose status is not "connected"; that minus
//     t0, median. The status must be "interrupted" and `networkOnline` false. Then
//     `online`, disconnect, dispose. The same runs with `reconnect: "auto"` (status
//     "reconnecting") are printed, not stored.
import { chromeOptions, peerUrl, peerJson } from "../scripts/chromium.mjs";
import { firefoxOptions } from "../scripts/firefox.mjs";
import { summary, round, newBenchPage, perBrowser, launchBrowser, browserVersion, gotoPage } from "./lib.mjs";
import { writeTone } from "./tone.mjs";

export const name = "devices";
export const needsPeer = true;

const CYCLES = Number(process.env.BENCH_DEVICES_CYCLES || 15);
const SWITCHES = Number(process.env.BENCH_DEVICES_SWITCHES || 15);
const OFFLINE_RUNS = Number(process.env.BENCH_DEVICES_OFFLINE_RUNS || 10);
const TONE_HZ = 440;
const MUTE_MS = 400;
const UNMUTED_MS = 300;
const SETTLE_MS = 200;
/** A control window's stand-in for the call (about what setMicrophone() takes here). */
const CONTROL_CALL_MS = 15;
const HEARD_TIMEOUT_MS = 3000;
const POLL_MS = 20;
const AUDIO = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

/** Installed before any page script: a link holder and helpers. */
function pageInit() {
  const D = (window.__dev = { link: null, gum: 0, replaced: [] });
  // Recorded, not changed: getUserMedia calls, and every RTCRtpSender.replaceTrack with the
  // device of the track it puts in (a switch must really swap the capture).
  const md = navigator.mediaDevices;
  const gum0 = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => {
    D.gum++;
    return gum0(c);
  };
  const replace0 = RTCRtpSender.prototype.replaceTrack;
  RTCRtpSender.prototype.replaceTrack = function (t) {
    D.replaced.push({ at: Date.now(), deviceId: t ? t.getSettings().deviceId || null : null, label: t ? t.label : null, state: t ? t.readyState : null });
    return replace0.call(this, t);
  };
  D.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  D.within = (p, ms, what) => {
    let timer;
    return Promise.race([
      Promise.resolve(p).finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  };
  /** A new connected link (the previous one is disposed); → its session id. */
  D.connect = async (opts) => {
    if (D.link) D.link.dispose();
    const link = (D.link = new D.VoiceLink({ url: location.origin + "/whip", visibility: "none", ...opts }));
    await D.within(link.connect(), 20_000, "connect()");
    const s = link.getSnapshot();
    if (s.status !== "connected" || !s.sessionId) throw new Error(`after connect(): status ${s.status}, session ${s.sessionId}`);
    return s.sessionId;
  };
  D.close = async () => {
    if (!D.link) return;
    await D.within(D.link.disconnect(), 10_000, "disconnect()").catch((e) => console.warn(e.message));
    D.link.dispose();
    D.link = null;
  };
  D.mute = async () => {
    await D.within(D.link.setMicEnabled(false), 5000, "setMicEnabled(false)");
    if (D.link.getSnapshot().micEnabled !== false) throw new Error("micEnabled still true after setMicEnabled(false)");
  };
  /** Unmutes; → { t0 (epoch ms, just before the call), resolveMs }. */
  D.unmute = async () => {
    const t0 = Date.now();
    const p0 = performance.now();
    await D.within(D.link.setMicEnabled(true), 5000, "setMicEnabled(true)");
    const resolveMs = performance.now() - p0;
    if (D.link.getSnapshot().micEnabled !== true) throw new Error("micEnabled still false after setMicEnabled(true)");
    return { t0, resolveMs };
  };
  /** Switches to `id`; → { t0, t1 (epoch ms around the call), swaps (replaceTrack calls) }. */
  D.switchTo = async (id) => {
    const n0 = D.replaced.length;
    const t0 = Date.now();
    await D.within(D.link.setMicrophone(id), 5000, `setMicrophone(${id})`);
    const t1 = Date.now();
    const s = D.link.getSnapshot();
    if (s.micDeviceId !== id) throw new Error(`micDeviceId ${s.micDeviceId} after setMicrophone(${id})`);
    if (s.status !== "connected") throw new Error(`status ${s.status} after setMicrophone(${id})`);
    return { t0, t1, swaps: D.replaced.slice(n0) };
  };
  /** A control window: no call, the same shape as a switch; → { t0, t1 }. */
  D.idle = async (ms) => {
    const t0 = Date.now();
    await D.sleep(ms);
    return { t0, t1: Date.now() };
  };
  /** One offline run on the connected link: → { ms, sync, status, networkOnline }. */
  D.offline = async () => {
    const link = D.link;
    let seen = null;
    const off = link.subscribe(() => {
      const s = link.getSnapshot();
      if (!seen && s.status !== "connected") seen = { t: performance.now(), status: s.status, networkOnline: s.networkOnline };
    });
    try {
      const t0 = performance.now();
      window.dispatchEvent(new Event("offline"));
      const sync = seen !== null;
      const deadline = performance.now() + 2000;
      while (!seen && performance.now() < deadline) await D.sleep(1);
      if (!seen) throw new Error(`status still ${link.getSnapshot().status} 2 s after the offline event`);
      return { ms: seen.t - t0, sync, status: seen.status, networkOnline: seen.networkOnline };
    } finally {
      off();
      window.dispatchEvent(new Event("online"));
    }
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sessionOf = (state, id) => state.sessions.find((s) => s.id === id);

async function session(id) {
  const s = sessionOf(await peerJson("/_dev/state"), id);
  if (!s) throw new Error(`the dev peer does not know session ${id}`);
  return s;
}

/** Polls the dev peer until session `id` has an audible packet after `after` (epoch ms). */
async function heardAfter(id, after, what) {
  const deadline = Date.now() + HEARD_TIMEOUT_MS;
  for (;;) {
    const s = await session(id);
    if (s.lastAudibleInAtMs !== null && s.lastAudibleInAtMs > after) return s;
    if (Date.now() > Math.max(deadline, after + HEARD_TIMEOUT_MS)) {
      throw new Error(`${what}: no audible uplink packet at the dev peer within ${HEARD_TIMEOUT_MS} ms (last audible ${s.lastAudibleInAtMs === null ? "never" : `${(Date.now() - s.lastAudibleInAtMs).toFixed(0)} ms ago`}, level ${s.uplinkLevelDbov} dBov, ${s.rtpPacketsIn} packets in)`);
    }
    await sleep(POLL_MS);
  }
}

const fmtList = (xs, d = 0) => xs.map((x) => x.toFixed(d)).join(" ");
const line = (label, xs) => {
  const s = summary(xs);
  return `  ${label}: median ${s.p50.toFixed(1)} ms (p90 ${s.p90.toFixed(1)}, min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}; n ${s.n})`;
};

/** (a) Mute/unmute cycles in one connection with `muteReleasesMic`; → the ms of each. */
async function unmuteCycles(page, muteReleasesMic) {
  const id = await page.evaluate((o) => window.__dev.connect(o), { audio: AUDIO, muteReleasesMic });
  await heardAfter(id, Date.now(), "before the first mute");
  const calls0 = await page.evaluate(() => [window.__dev.gum, window.__dev.replaced.length]);
  const out = [];
  const resolve = [];
  for (let i = 0; i < CYCLES; i++) {
    await page.evaluate(() => window.__dev.mute());
    await sleep(MUTE_MS);
    const m = await session(id);
    const silentFor = Date.now() - (m.lastAudibleInAtMs ?? 0);
    if (silentFor < MUTE_MS - 150) {
      throw new Error(`cycle ${i + 1}: muted for ${MUTE_MS} ms but the dev peer heard audible uplink ${silentFor.toFixed(0)} ms ago (level ${m.uplinkLevelDbov} dBov): the mute does not silence the uplink`);
    }
    const { t0, resolveMs } = await page.evaluate(() => window.__dev.unmute());
    const s = await heardAfter(id, t0, `cycle ${i + 1} after unmute`);
    const gap = s.uplinkSilentGaps.find((g) => g.startMs < t0 && g.endMs > t0);
    if (!gap) throw new Error(`cycle ${i + 1}: no silent gap spans the unmute at ${t0} (gaps ${JSON.stringify(s.uplinkSilentGaps.slice(-3))})`);
    out.push(gap.endMs - t0);
    resolve.push(resolveMs);
    await sleep(UNMUTED_MS);
  }
  const s = await session(id);
  const calls = await page.evaluate(() => [window.__dev.gum, window.__dev.replaced.length]);
  await page.evaluate(() => window.__dev.close());
  if (s.state !== "connected") throw new Error(`session ${id} is ${s.state} after the cycles`);
  console.log(
    `  unmute → first audible packet at the peer, muteReleasesMic ${muteReleasesMic}: ${fmtList(out)}` +
      ` (over the ${CYCLES} cycles: ${calls[0] - calls0[0]} getUserMedia, ${calls[1] - calls0[1]} replaceTrack calls)`,
  );
  console.log(line(`    setMicEnabled(true) call → resolved`, resolve));
  return out;
}

/** The two inputs to alternate between (see the header). */
function pickInputs(mics) {
  const alias = (d) => d.deviceId === "default" || d.deviceId === "communications";
  const real = mics.filter((d) => !alias(d));
  const ids = [...new Set(real.map((d) => d.deviceId))];
  if (ids.length >= 2) return [ids[0], ids[1]];
  if (ids.length === 1) return ["default", ids[0]];
  throw new Error(`listMicrophones() lists no input: ${JSON.stringify(mics)}`);
}

/** (b) Microphone switches in one connection; → the gap of each. */
async function switches(page) {
  const id = await page.evaluate((o) => window.__dev.connect(o), { audio: AUDIO });
  const mics = await page.evaluate(() => window.__dev.link.listMicrophones().then((l) => l.map((d) => ({ ...d }))));
  console.log(`  listMicrophones(): ${mics.map((d) => `${JSON.stringify(d.label)} ${d.deviceId.slice(0, 12)}${d.isDefault ? " (default)" : ""}`).join(", ")}`);
  const pair = pickInputs(mics);
  console.log(`  switching between ${pair.map((x) => x.slice(0, 12)).join(" and ")}`);
  await heardAfter(id, Date.now(), "before the first switch");
  // The link starts on "default": the first switch goes to pair[1] unless that is "default".
  let next = pair[0] === "default" ? 1 : 0;
  // The silent gaps overlapping [t0, t1 + SETTLE_MS], summed; and a printable form.
  const gapOver = async (t0, t1, what) => {
    const end = t1 + SETTLE_MS;
    const s = await heardAfter(id, end, what);
    const gaps = s.uplinkSilentGaps.filter((g) => g.endMs > t0 && g.startMs < end);
    const ms = gaps.reduce((a, g) => a + (g.endMs - g.startMs), 0);
    return { ms, text: `${ms.toFixed(0)}${gaps.length ? `[${gaps.map((g) => `${(g.startMs - t0).toFixed(0)}..${(g.endMs - t0).toFixed(0)}`).join(",")}; call ${(t1 - t0).toFixed(0)}]` : ""}` };
  };
  const out = [];
  const detail = [];
  const control = [];
  const controlDetail = [];
  for (let i = 0; i < SWITCHES; i++) {
    const target = pair[next];
    next = 1 - next;
    const { t0, t1, swaps } = await page.evaluate((d) => window.__dev.switchTo(d), target);
    // A 0 must mean "no audible hole", not "nothing happened": the capture was swapped.
    if (!swaps.some((x) => x.state === "live" && (target === "default" || x.deviceId === target))) {
      throw new Error(`switch ${i + 1}: setMicrophone(${target}) put no live track of that device in the sender (replaceTrack calls: ${JSON.stringify(swaps)})`);
    }
    const g = await gapOver(t0, t1, `switch ${i + 1}`);
    out.push(g.ms);
    detail.push(g.text);
    // Control: the same window with no switch in it (what the machine's load alone gives).
    const c = await page.evaluate((ms) => window.__dev.idle(ms), CONTROL_CALL_MS);
    const cg = await gapOver(c.t0, c.t1, `control window ${i + 1}`);
    control.push(cg.ms);
    controlDetail.push(cg.text);
  }
  const s = await session(id);
  const sameSession = await page.evaluate(() => window.__dev.link.getSnapshot().sessionId);
  await page.evaluate(() => window.__dev.close());
  if (sameSession !== id) throw new Error(`the session changed during the switches (${id} → ${sameSession})`);
  if (s.state !== "connected") throw new Error(`session ${id} is ${s.state} after the switches`);
  console.log(`  switch gaps (ms; [gap start..end relative to the call; the call's duration]): ${detail.join(" ")}`);
  console.log(`  control windows, no switch (ms, same measure): ${controlDetail.join(" ")}`);
  const nz = (xs) => xs.filter((x) => x > 0).length;
  console.log(`    with a gap: ${nz(out)}/${SWITCHES} switches, ${nz(control)}/${SWITCHES} control windows; control median ${summary(control).p50.toFixed(1)} ms, max ${summary(control).max.toFixed(1)} ms (not stored)`);
  console.log(`    level at the end ${s.uplinkLevelDbov} dBov, ${s.rtpAudiblePacketsIn}/${s.rtpPacketsIn} packets audible, ICE restarts ${s.iceRestarts}`);
  return out;
}

/** (c) Offline runs with `reconnect` policy; → the ms of each. */
async function offlineRuns(page, policy, expect) {
  const out = [];
  let sync = 0;
  for (let i = 0; i < OFFLINE_RUNS; i++) {
    await page.evaluate((o) => window.__dev.connect(o), { audio: AUDIO, reconnect: policy });
    await sleep(300);
    const r = await page.evaluate(() => window.__dev.offline());
    await page.evaluate(() => window.__dev.close());
    if (r.status !== expect) throw new Error(`offline run ${i + 1} (${policy}): status ${r.status}, expected ${expect}`);
    if (r.networkOnline !== false) throw new Error(`offline run ${i + 1} (${policy}): networkOnline ${r.networkOnline} after the offline event`);
    out.push(r.ms);
    if (r.sync) sync++;
  }
  console.log(`  offline event → "${expect}" (${policy}), ms: ${fmtList(out, 2)} (${sync}/${OFFLINE_RUNS} within dispatchEvent)`);
  return out;
}

/** Launches `browserName` with its fake microphone playing a steady tone (see the header). */
async function launchWithTone(browserName) {
  if (browserName === "chromium") {
    const tone = writeTone({ freq: TONE_HZ });
    console.log(`  fake microphone: ${tone.path} (${TONE_HZ} Hz, 0.5, 48 kHz mono)`);
    const { args } = chromeOptions();
    if (!args.some((a) => a === "--headless" || a.startsWith("--headless="))) args.push("--headless=new");
    args.push(`--use-file-for-fake-audio-capture=${tone.path}`);
    return launchBrowser("chromium", { args });
  }
  const prefs = { ...firefoxOptions().prefs, "media.navigator.audio.fake_frequency": TONE_HZ, "privacy.reduceTimerPrecision": false };
  console.log(`  fake microphone: Firefox's own tone at ${TONE_HZ} Hz (media.navigator.audio.fake_frequency), 0.1`);
  return launchBrowser("firefox", { extraPrefsFirefox: prefs });
}

async function runIn(browserName) {
  const browser = await launchWithTone(browserName);
  try {
    console.log(`  ${browserName} ${await browserVersion(browser)}`);
    const page = await newBenchPage(browser, pageInit);
    await gotoPage(page, `${peerUrl}/`);
    await page.evaluate(async () => {
      window.__dev.VoiceLink = (await import("/pkg/index.js")).VoiceLink;
    });

    const released = await unmuteCycles(page, true);
    const enabled = await unmuteCycles(page, false);
    const gaps = await switches(page);
    const manual = await offlineRuns(page, "manual", "interrupted");
    const auto = await offlineRuns(page, "auto", "reconnecting");

    console.log(line("unmute → uplink audible, muteReleasesMic true ", released));
    console.log(line("unmute → uplink audible, muteReleasesMic false", enabled));
    console.log(line("switch gap", gaps));
    console.log(line("offline → interrupted (manual)", manual));
    console.log(line("offline → reconnecting (auto), not stored", auto));
    return {
      "devices.unmute_to_uplink_ms": round(summary(released).p50),
      "devices.unmute_to_uplink_ms_disabled": round(summary(enabled).p50),
      "devices.switch_gap_ms": round(summary(gaps).p50),
      "reconnect.offline_detect_ms": round(summary(manual).p50, 2),
    };
  } finally {
    await browser.close();
  }
}

export function run() {
  return perBrowser(runIn);
}
