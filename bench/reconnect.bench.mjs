// Reconnect: how fast an outage is seen, how fast the link comes back, and what
// the app's messages go through meanwhile. Headless Chromium (flags from
// webdriver.json, fake microphone) against the dev peer on loopback; the demo
// page, `import("/pkg/index.js")`, one new VoiceLink per run.
//
// Recorded in the page before the library is loaded: every RTCPeerConnection
// (globalThis.RTCPeerConnection replaced by a subclass) with its
// `connectionState` changes, and — through `link.subscribe()` — every status
// change of the link, all on the page's performance.now() clock.
//
// 1. Detection and ICE restart (manual policy, outageTimeoutMs 1500), RUNS
//    times (BENCH_RECONNECT_RUNS, default 5): connect, the page POSTs
//    /_dev/sessions/<id>/drop (the dev peer black-holes the session's
//    transport, keeps the session) 500–750 ms (at random: a random phase of the
//    library's 250 ms stats sampler) after connect() resolved; t0 = when that
//    fetch resolved.
//      reconnect.detect_ms                 t0 → status "interrupted", median
//      reconnect.chromium_disconnected_ms  t0 → the peer connection's
//                                          connectionState "disconnected", median of the
//                                          runs where it came within 8 s (key left out if never)
//    Then (after "disconnected" or the 8 s, plus 0–250 ms at random) `await link.reconnect()`:
//      reconnect.ice_restart_ms            reconnect() call → resolved, median; the session
//                                          id must stay the same (an ICE restart, WHIP PATCH)
//    Printed only: when the PATCH was answered (the page's fetch is wrapped),
//    when Chromium's connectionState read "connected" again, and when the echoed
//    audio came back (inbound-rtp packetsReceived growing, getStats every 20 ms).
// 2. Delivery through a 10 s outage (manual policy, outboxCapacity 200 so that
//    the outbox's capacity — 100 by default — is not what is measured): drop at
//    t0; the page sends {seq:i} every 100 ms from t0 until reconnect() resolves;
//    reconnect() at t0 + 10 s. Then (bounded, 10 s) until the dev peer's
//    `messages` of the session hold every seq.
//      reconnect.delivered_pct             seqs delivered (first copy, in order) / sent × 100
// 3. Restore after a real restart of the dev peer (automatic policy, library
//    defaults: base 1000, spread 5000, cap 30000), RESTORE_RUNS times
//    (BENCH_RECONNECT_RESTORE_RUNS, default 3): connect, POST
//    /_dev/restart?down_ms=3000 (every session forgotten), node polls GET
//    /_dev/health every 50 ms.
//      reconnect.restore_ms                first answer of /_dev/health → status
//                                          "connected", median (mostly the backoff wait left
//                                          when the peer is back; the winning attempt's own
//                                          time is printed). Page and node clocks are
//                                          compared in epoch ms (performance.timeOrigin +
//                                          now(); the offset is measured and removed).
//    Each run must also get echoed audio on the new connection within 3 s of "connected".
// Every wait is bounded; the bench throws when a precondition fails (the fault
// switches missing, no outage seen, reconnect() not resolving, …).
import { launchChromium, peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, round, newBenchPage } from "./lib.mjs";

export const name = "reconnect";
export const needsPeer = true;

const RUNS = Number(process.env.BENCH_RECONNECT_RUNS || 5);
const RESTORE_RUNS = Number(process.env.BENCH_RECONNECT_RESTORE_RUNS || 3);
const OUTAGE_TIMEOUT_MS = 1500;
const CHROMIUM_WAIT_MS = 8000;
const OUTAGE_MS = 10_000;
const SEND_EVERY_MS = 100;
const DOWN_MS = 3000;
const HEALTH_POLL_MS = 50;

/** Installed before any page script: peer-connection and status recorders, helpers. */
function pageInit() {
  const R = (window.__rc = { pcs: [], tl: [], link: null });

  const PC = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      const rec = { pc: this, states: [{ s: this.connectionState, t: performance.now() }] };
      R.pcs.push(rec);
      this.addEventListener("connectionstatechange", () => rec.states.push({ s: this.connectionState, t: performance.now() }));
    }
  };

  // WHIP requests (the library calls the global fetch): method, status, start and end.
  R.http = [];
  const fetch0 = window.fetch;
  window.fetch = async function (input, init) {
    const e = { method: (init && init.method) || "GET", url: String(input && input.url ? input.url : input), t0: performance.now(), t1: null, status: null };
    if (e.url.includes("/whip")) R.http.push(e);
    const res = await fetch0.call(this, input, init);
    e.t1 = performance.now();
    e.status = res.status;
    return res;
  };

  /** ms after `after` at which the echoed audio (inbound-rtp packetsReceived) grows, or null after `timeoutMs`. */
  R.audioBack = async (pc, after, timeoutMs) => {
    const packets = async () => {
      let n = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") n += s.packetsReceived || 0;
      });
      return n;
    };
    const n0 = await packets();
    while (performance.now() - after < timeoutMs) {
      if ((await packets()) > n0) return performance.now() - after;
      await R.sleep(20);
    }
    return null;
  };

  R.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  R.epoch = () => performance.timeOrigin + performance.now();
  R.within = (p, ms, what) => {
    let timer;
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  };

  /** A new link (the previous one must be disposed); its status changes go to R.tl. */
  R.newLink = (opts) => {
    const link = new R.VoiceLink({ url: location.origin + "/whip", visibility: "none", ...opts });
    const tl = (R.tl = []);
    let last = null;
    const note = () => {
      const s = link.getSnapshot();
      if (!last || s.status !== last.status || s.reconnectAttempt !== last.reconnectAttempt || s.sessionId !== last.sessionId) {
        tl.push({
          status: s.status,
          t: performance.now(),
          attempt: s.reconnectAttempt,
          sessionId: s.sessionId,
          nextRetryInMs: s.nextRetryInMs,
          queued: s.queuedMessages,
          error: s.error ? s.error.code : null,
        });
      }
      last = s;
    };
    note();
    link.subscribe(note);
    R.link = link;
    return link;
  };

  /** The first status change to `status` at or after `after` (page ms), waiting up to `timeoutMs`. */
  R.waitStatus = async (status, after, timeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const e = R.tl.find((x) => x.t >= after && x.status === status);
      if (e) return e;
      if (performance.now() > deadline) {
        throw new Error(`status not "${status}" within ${timeoutMs} ms (timeline ${JSON.stringify(R.tl.map((x) => [x.status, Math.round(x.t - after)]))})`);
      }
      await R.sleep(10);
    }
  };

  /** The first connectionState `state` of peer connection `rec` after `after`, or null after `timeoutMs`. */
  R.waitPc = async (rec, state, after, timeoutMs) => {
    const deadline = after + timeoutMs;
    for (;;) {
      const e = rec.states.find((x) => x.t >= after && x.s === state);
      if (e) return e.t;
      if (performance.now() > deadline) return null;
      await R.sleep(10);
    }
  };

  R.drop = async (id) => {
    const res = await fetch(`/_dev/sessions/${encodeURIComponent(id)}/drop`, { method: "POST" });
    const t = performance.now();
    if (!res.ok) throw new Error(`POST /_dev/sessions/${id}/drop: HTTP ${res.status} ${await res.text()}`);
    return t;
  };

  R.connected = async (opts) => {
    if (R.link) {
      R.link.dispose();
      R.link = null;
    }
    const link = R.newLink(opts);
    await R.within(link.connect(), 20_000, "connect()");
    const s = link.getSnapshot();
    if (s.status !== "connected" || !s.sessionId) throw new Error(`after connect(): ${JSON.stringify(s)}`);
    return link;
  };

  R.close = async () => {
    if (!R.link) return;
    await R.within(R.link.disconnect(), 10_000, "disconnect()").catch((e) => console.warn(e.message));
    R.link.dispose();
    R.link = null;
  };
}

/** In the page: one drop → interrupted → (Chromium disconnected or 8 s) → reconnect() run. */
async function detectRun({ outageTimeoutMs, chromiumWaitMs }) {
  const R = window.__rc;
  const link = await R.connected({ reconnect: "manual", outageTimeoutMs });
  const id = link.getSnapshot().sessionId;
  const pc = R.pcs[R.pcs.length - 1];
  // A few stats samples of a live transport first; the random part puts the drop at a random
  // phase of the library's 250 ms stats sampler (else the phase is nearly the same every run).
  await R.sleep(500 + Math.random() * 250);
  if (link.getSnapshot().status !== "connected") throw new Error(`not connected before the drop: ${link.getSnapshot().status}`);
  const t0 = await R.drop(id);
  const interrupted = await R.waitStatus("interrupted", t0, 10_000);
  const disc = await R.waitPc(pc, "disconnected", t0, chromiumWaitMs);
  const before = link.getSnapshot();
  if (before.status !== "interrupted") throw new Error(`status ${before.status} before reconnect() (manual policy: expected "interrupted")`);
  if (!before.canReconnect) throw new Error(`canReconnect false while interrupted: ${JSON.stringify(before)}`);
  // The "click" at a random phase of the stats sampler too: reconnect() resolves on a sample.
  await R.sleep(Math.random() * 250);
  const t1 = performance.now();
  const audio = R.audioBack(pc.pc, t1, 3000);
  await R.within(link.reconnect(), 15_000, "reconnect()");
  const t2 = performance.now();
  const after = link.getSnapshot();
  const patch = R.http.find((e) => e.method === "PATCH" && e.t0 >= t1);
  const pcBack = pc.states.find((x) => x.t >= t1 && x.s === "connected");
  return {
    patch: patch ? { status: patch.status, at: patch.t0 - t1, answered: patch.t1 - t1 } : null,
    pcConnectedMs: pcBack ? pcBack.t - t1 : null,
    audioBackMs: await audio,
    id,
    detectMs: interrupted.t - t0,
    chromiumDisconnectedMs: disc === null ? null : disc - t0,
    pcStates: pc.states.filter((x) => x.t >= t0).map((x) => `${x.s}@${Math.round(x.t - t0)}`),
    iceRestartMs: t2 - t1,
    reconnectAt: t1 - t0,
    afterId: after.sessionId,
    afterStatus: after.status,
    replaced: after.sessionReplaced,
    newPcs: R.pcs.length - 1 - R.pcs.indexOf(pc),
  };
}

/** In the page: drop, send {seq} every 100 ms, reconnect() after `outageMs`, stop sending when it resolves. */
async function deliveryRun({ outageTimeoutMs, outageMs, everyMs }) {
  const R = window.__rc;
  const link = await R.connected({ reconnect: "manual", outageTimeoutMs, outboxCapacity: 200 });
  const id = link.getSnapshot().sessionId;
  await R.sleep(500 + Math.random() * 250);
  const t0 = await R.drop(id);
  let seq = 0;
  let sendError = null;
  let sentBeforeDetect = null;
  const unsubscribe = link.subscribe(() => {
    if (sentBeforeDetect === null && link.getSnapshot().status === "interrupted") sentBeforeDetect = seq;
  });
  const send = () => {
    try {
      link.send({ seq });
      seq++;
    } catch (e) {
      sendError = sendError || `${e.code || ""} ${e.message || e}`;
    }
  };
  send();
  const timer = setInterval(send, everyMs);
  try {
    const interrupted = await R.waitStatus("interrupted", t0, 10_000);
    await R.sleep(Math.max(0, t0 + outageMs - performance.now()));
    const before = link.getSnapshot();
    const t1 = performance.now();
    await R.within(link.reconnect(), 15_000, "reconnect()");
    const t2 = performance.now();
    clearInterval(timer);
    const after = link.getSnapshot();
    return {
      id,
      sent: seq,
      sentBeforeDetect,
      sendError,
      detectMs: interrupted.t - t0,
      reconnectAt: t1 - t0,
      reconnectMs: t2 - t1,
      queuedBefore: before.queuedMessages,
      droppedBefore: before.droppedMessages,
      queuedAfter: after.queuedMessages,
      droppedAfter: after.droppedMessages,
      afterId: after.sessionId,
      replaced: after.sessionReplaced,
      status: after.status,
    };
  } finally {
    clearInterval(timer);
    unsubscribe();
  }
}

/** Received seqs (in arrival order) against `sent` (0..sent-1). */
function deliveryStats(received, sent) {
  const seen = new Set();
  let max = -1;
  let inOrder = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let unknown = 0;
  for (const s of received) {
    if (!Number.isInteger(s) || s < 0 || s >= sent) {
      unknown++;
      continue;
    }
    if (seen.has(s)) {
      duplicates++;
      continue;
    }
    seen.add(s);
    if (s > max) {
      inOrder++;
      max = s;
    } else {
      outOfOrder++;
    }
  }
  const missing = [];
  for (let i = 0; i < sent; i++) if (!seen.has(i)) missing.push(i);
  return { unique: seen.size, inOrder, duplicates, outOfOrder, unknown, missing };
}

const seqsOf = (messages) =>
  messages
    .map((m) => {
      try {
        const v = JSON.parse(m);
        return v && typeof v === "object" && "seq" in v ? v.seq : undefined;
      } catch {
        return undefined;
      }
    })
    .filter((s) => s !== undefined);

const sessionOf = (state, id) => state.sessions.find((s) => s.id === id);
const nodeEpoch = () => performance.timeOrigin + performance.now();
const fmt = (xs) => xs.map((x) => (x === null ? "-" : x.toFixed(0))).join(" ");
const line = (label, xs) => {
  const s = summary(xs);
  return `  ${label}: median ${s.p50.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}; n ${s.n})`;
};

/** The dev peer must have the fault switches this bench uses. */
async function checkSwitches() {
  const res = await fetch(`${peerUrl}/_dev/faults`);
  if (res.status === 404) throw new Error("the dev peer has no /_dev/faults (fault switches not built in yet)");
  if (!res.ok) throw new Error(`GET /_dev/faults: HTTP ${res.status}`);
  const drop = await fetch(`${peerUrl}/_dev/sessions/no-such-session/drop`, { method: "POST" });
  if (drop.status !== 404) throw new Error(`POST /_dev/sessions/<unknown>/drop: HTTP ${drop.status}, expected 404`);
  const state = await peerJson("/_dev/state");
  if (!Array.isArray(state.sessions)) throw new Error("GET /_dev/state has no sessions array");
}

/** Page epoch − node epoch (ms), from the round trip with the smallest delay. */
async function clockOffset(page) {
  let best = null;
  for (let i = 0; i < 7; i++) {
    const a = nodeEpoch();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = nodeEpoch();
    if (!best || b - a < best.rtt) best = { rtt: b - a, offset: p - (a + b) / 2 };
  }
  return best;
}

/** Polls GET /_dev/health every 50 ms until it answers 200; returns { at (node epoch), refused }. */
async function waitHealth(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let refused = 0;
  for (;;) {
    const next = performance.now() + HEALTH_POLL_MS;
    try {
      const res = await fetch(`${peerUrl}/_dev/health`, { signal: AbortSignal.timeout(1000) });
      const at = nodeEpoch();
      if (res.ok) {
        await res.arrayBuffer();
        return { at, refused };
      }
      refused++;
    } catch {
      refused++;
    }
    if (Date.now() > deadline) throw new Error(`GET /_dev/health did not answer within ${timeoutMs} ms of the restart`);
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
}

export async function run() {
  await checkSwitches();
  const browser = await launchChromium();
  try {
    const page = await newBenchPage(browser, pageInit);
    await page.goto(`${peerUrl}/`);
    await page.evaluate(async () => {
      window.__rc.VoiceLink = (await import("/pkg/index.js")).VoiceLink;
    });

    // 1. Detection and the manual ICE restart.
    console.log(`  detection + ICE restart: ${RUNS} runs, manual policy, outageTimeoutMs ${OUTAGE_TIMEOUT_MS}, fault /_dev/sessions/<id>/drop`);
    const det = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await page.evaluate(detectRun, { outageTimeoutMs: OUTAGE_TIMEOUT_MS, chromiumWaitMs: CHROMIUM_WAIT_MS });
      const peer = sessionOf(await peerJson("/_dev/state"), r.id);
      await page.evaluate(() => window.__rc.close());
      console.log(
        `    run ${i + 1}: interrupted ${r.detectMs.toFixed(0)} ms, Chromium disconnected ${r.chromiumDisconnectedMs === null ? `not within ${CHROMIUM_WAIT_MS} ms` : `${r.chromiumDisconnectedMs.toFixed(0)} ms`}` +
          ` [${r.pcStates.join(" ")}]; reconnect() at ${r.reconnectAt.toFixed(0)} ms took ${r.iceRestartMs.toFixed(0)} ms` +
          ` (PATCH ${r.patch ? `${r.patch.status} answered at ${r.patch.answered.toFixed(0)} ms` : "none"}, Chromium connected again at ${r.pcConnectedMs === null ? "-" : `${r.pcConnectedMs.toFixed(0)} ms`},` +
          ` echoed audio back at ${r.audioBackMs === null ? "- (not within 3 s)" : `${r.audioBackMs.toFixed(0)} ms`}; same session ${r.afterId === r.id}, new peer connections ${r.newPcs};` +
          ` dev peer just after: ${peer ? `${peer.state}, iceRestarts ${peer.iceRestarts}` : "session unknown"})`,
      );
      if (r.afterStatus !== "connected") throw new Error(`run ${i + 1}: status ${r.afterStatus} after reconnect() resolved`);
      if (r.afterId !== r.id || r.replaced) {
        throw new Error(`run ${i + 1}: reconnect() replaced the session (${r.id} → ${r.afterId}) instead of an ICE restart`);
      }
      if (peer && peer.iceRestarts < 1) throw new Error(`run ${i + 1}: the dev peer counted no ICE restart for ${r.id}`);
      det.push(r);
    }
    const detect = det.map((r) => r.detectMs);
    const chromium = det.map((r) => r.chromiumDisconnectedMs).filter((x) => x !== null);
    const ice = det.map((r) => r.iceRestartMs);
    console.log(line("to interrupted", detect));
    if (chromium.length > 0) console.log(line(`to Chromium "disconnected" (${chromium.length}/${RUNS} runs within ${CHROMIUM_WAIT_MS} ms)`, chromium));
    else console.log(`  Chromium's connectionState never read "disconnected" within ${CHROMIUM_WAIT_MS} ms`);
    console.log(line("ICE restart (reconnect() call → resolved)", ice));
    const audioBack = det.map((r) => r.audioBackMs).filter((x) => x !== null);
    if (audioBack.length > 0) console.log(line(`reconnect() call → echoed audio received again (${audioBack.length}/${RUNS} runs)`, audioBack));

    // 2. Delivery through a 10 s outage.
    console.log(`  delivery: ${OUTAGE_MS / 1000} s outage, {seq} every ${SEND_EVERY_MS} ms, outboxCapacity 200 (capacity not measured)`);
    const d = await page.evaluate(deliveryRun, { outageTimeoutMs: OUTAGE_TIMEOUT_MS, outageMs: OUTAGE_MS, everyMs: SEND_EVERY_MS });
    if (d.sendError) throw new Error(`send() threw during the outage: ${d.sendError}`);
    if (d.status !== "connected") throw new Error(`delivery: status ${d.status} after reconnect() resolved`);
    const ids = [...new Set([d.id, d.afterId])];
    let received = [];
    const t0 = Date.now();
    await until(
      async () => {
        const state = await peerJson("/_dev/state");
        received = ids.flatMap((id) => seqsOf(sessionOf(state, id)?.messages || []));
        return new Set(received).size >= d.sent;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: "the dev peer to have every message" },
    ).catch((e) => console.log(`    ${e.message}`));
    const waitedMs = Date.now() - t0;
    await page.evaluate(() => window.__rc.close());
    const ds = deliveryStats(received, d.sent);
    const pct = (ds.inOrder / d.sent) * 100;
    console.log(
      `    interrupted at ${d.detectMs.toFixed(0)} ms (${d.sentBeforeDetect} sent before), reconnect() at ${d.reconnectAt.toFixed(0)} ms took ${d.reconnectMs.toFixed(0)} ms;` +
        ` outbox before reconnect(): ${d.queuedBefore} queued, ${d.droppedBefore} dropped; after: ${d.queuedAfter} queued, ${d.droppedAfter} dropped` +
        `; session ${d.afterId === d.id ? "kept" : `replaced (${d.id} → ${d.afterId})`}`,
    );
    console.log(
      `    sent ${d.sent}, received ${received.length} (waited ${waitedMs} ms): delivered ${ds.unique} unique, ${ds.inOrder} in order,` +
        ` duplicates ${ds.duplicates}, out of order ${ds.outOfOrder}, not ours ${ds.unknown}, missing ${ds.missing.length}` +
        (ds.missing.length ? ` [${ds.missing.slice(0, 30).join(" ")}${ds.missing.length > 30 ? " …" : ""}]` : "") +
        ` → ${pct.toFixed(1)} %`,
    );

    // 3. Restore after a real restart of the dev peer, automatic policy.
    console.log(`  restore: ${RESTORE_RUNS} runs, automatic policy (library defaults), POST /_dev/restart?down_ms=${DOWN_MS}`);
    const restore = [];
    for (let i = 0; i < RESTORE_RUNS; i++) {
      const id = await page.evaluate(async (outageTimeoutMs) => {
        const R = window.__rc;
        const link = await R.connected({ reconnect: "auto", outageTimeoutMs });
        await R.sleep(500);
        return link.getSnapshot().sessionId;
      }, OUTAGE_TIMEOUT_MS);
      const { offset, rtt } = await clockOffset(page);
      const restartAt = nodeEpoch();
      const res = await fetch(`${peerUrl}/_dev/restart?down_ms=${DOWN_MS}`, { method: "POST" });
      const ackAt = nodeEpoch();
      if (res.status !== 202) throw new Error(`POST /_dev/restart: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      const health = await waitHealth(DOWN_MS + 15_000);
      if (health.refused === 0) throw new Error("GET /_dev/health never failed after POST /_dev/restart: the peer did not go down");
      const r = await page.evaluate(
        async ({ restartAtPage }) => {
          const R = window.__rc;
          const after = restartAtPage - performance.timeOrigin;
          const rec = await R.waitStatus("reconnecting", after, 20_000);
          const con = await R.waitStatus("connected", rec.t, 40_000);
          // Audio flows on the new connection (the fresh session's echo reaches the page).
          const audioMs = await R.audioBack(R.pcs[R.pcs.length - 1].pc, con.t, 3000);
          const s = R.link.getSnapshot();
          // The attempt that succeeded: from its first status entry to "connected".
          const won = R.tl.find((x) => x.t >= after && x.status === "reconnecting" && x.attempt === Math.max(...R.tl.filter((y) => y.t >= after && y.t <= con.t).map((y) => y.attempt)));
          return {
            attemptMs: won ? con.t - won.t : null,
            audioMs,
            attempts: won ? won.attempt : null,
            reconnectingMs: rec.t - after,
            connectedEpoch: performance.timeOrigin + con.t,
            tl: R.tl.filter((x) => x.t >= after).map((x) => `${x.status}${x.attempt ? `#${x.attempt}` : ""}${x.nextRetryInMs != null ? `(wait ${Math.round(x.nextRetryInMs)})` : ""}${x.error ? `[${x.error}]` : ""}@${Math.round(x.t - after)}`),
            sessionId: s.sessionId,
            replaced: s.sessionReplaced,
            status: s.status,
          };
        },
        { restartAtPage: restartAt + offset },
      );
      const state = await peerJson("/_dev/state");
      const peer = sessionOf(state, r.sessionId);
      await page.evaluate(() => window.__rc.close());
      const ms = r.connectedEpoch - offset - health.at;
      const upAfter = health.at - ackAt;
      console.log(
        `    run ${i + 1}: 202 after ${(ackAt - restartAt).toFixed(0)} ms, health back ${upAfter.toFixed(0)} ms after it (${health.refused} failed polls),` +
          ` reconnecting ${r.reconnectingMs.toFixed(0)} ms after the POST; connected ${ms.toFixed(0)} ms after health, ${r.attemptMs === null ? "?" : r.attemptMs.toFixed(0)} ms after attempt #${r.attempts} began` +
          `; echoed audio ${r.audioMs === null ? "none within 3 s" : `${r.audioMs.toFixed(0)} ms`} after "connected" (session ${r.sessionId === id ? "same" : "replaced"}, sessionReplaced ${r.replaced}; dev peer: ${peer ? `${peer.state}, ${peer.rtpPacketsIn} RTP in` : "unknown"}; clock offset ${offset.toFixed(1)} ms ±${(rtt / 2).toFixed(1)})`,
      );
      console.log(`      ${r.tl.join(" ")}`);
      if (r.status !== "connected") throw new Error(`restore run ${i + 1}: status ${r.status}`);
      if (r.audioMs === null) throw new Error(`restore run ${i + 1}: no echoed audio within 3 s of "connected"`);
      if (ms < 0) throw new Error(`restore run ${i + 1}: connected ${ms.toFixed(0)} ms before health answered (clock offset wrong?)`);
      restore.push(ms);
    }
    console.log(line("health back → connected", restore));

    const out = {
      "reconnect.detect_ms": round(summary(detect).p50),
      "reconnect.ice_restart_ms": round(summary(ice).p50),
      "reconnect.delivered_pct": round(pct),
      "reconnect.restore_ms": round(summary(restore).p50),
    };
    if (chromium.length > 0) out["reconnect.chromium_disconnected_ms"] = round(summary(chromium).p50);
    console.log(`  all (ms): detect ${fmt(detect)}; Chromium disconnected ${fmt(det.map((r) => r.chromiumDisconnectedMs))}; ICE restart ${fmt(ice)}; restore ${fmt(restore)}`);
    return out;
  } finally {
    await browser.close();
  }
}
