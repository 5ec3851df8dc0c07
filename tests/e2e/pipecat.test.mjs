// voicelink against a REAL Pipecat SmallWebRTC server (issue 14): pipecat-ai from PyPI, the echo
// bot in tests/pipecat/echo_bot.py (transport.input() → transport.output(), app messages
// echoed), on loopback. In headless Chromium with the browser-side probe:
//   connect with `signaling: "pipecat"` → the bot's session exists (/_state), the echo is heard
//   at the speakers (the probe's destination tap), an app message round-trips; an outage (the
//   page's getStats shows the transport's bytes frozen, so the library's own outage detector
//   fires; the network itself is not cut) → the reconnect button → Pipecat's restart: a new
//   peer connection offered with the current pc_id and restart_pc BEFORE the old one closes →
//   the bot keeps the SAME server session (no second session started), the echo comes back;
//   disconnect → the bot sees the session closed; the microphone is released.
//
//   scripts/netns.sh scripts/with-peer.sh 7878 target/peer.log \
//     tests/pipecat/run.sh 7880 target/pipecat.log node --test tests/e2e/pipecat.test.mjs
// The page is the dev peer's origin (it serves /pkg/); the bot is another origin (CORS).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium, peerUrl, until } from "../../scripts/chromium.mjs";
import { probeInitScript, probeSummary } from "../../scripts/probe.mjs";

const bot = (process.env.VOICELINK_PIPECAT_URL || "").replace(/\/+$/, "");

async function botState() {
  const r = await fetch(`${bot}/_state`);
  if (!r.ok) throw new Error(`GET /_state: HTTP ${r.status}`);
  return r.json();
}

let browser;
before(async () => {
  if (bot) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The destination's largest peak in the quanta recorded since `fromQuantum`. */
const peakSince = (tab, fromQuantum) =>
  tab.evaluate((from) => {
    const d = globalThis.__voicelinkProbe.destination(-1);
    return d ? d.quanta.slice(from).reduce((m, q) => Math.max(m, q[2]), 0) : 0;
  }, fromQuantum);
const quantaCount = (tab) => tab.evaluate(() => globalThis.__voicelinkProbe.destination(-1)?.quanta.length ?? 0);

test("Pipecat from PyPI: connect, echo, message, reconnect in the same server session, hang up", { timeout: 120_000, skip: bot ? false : "VOICELINK_PIPECAT_URL not set (run through tests/pipecat/run.sh)" }, async () => {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.addInitScript(probeInitScript);
    tab.on("pageerror", (e) => console.log(`  [page error] ${e}`));
    await tab.goto(`${peerUrl}/`);
    const before = await botState();

    await tab.evaluate(async (url) => {
      const { VoiceLink } = await import("/pkg/index.js");
      const link = new VoiceLink({ url, signaling: "pipecat", requestData: { from: "voicelink-e2e" }, outageTimeoutMs: 1000 });
      const messages = [];
      link.on("message", (m) => messages.push(m));
      Object.assign(window, { link, messages });
      await link.connect();
    }, `${bot}/api/offer`);
    const snap = () => tab.evaluate(() => window.link.getSnapshot());
    const first = await snap();
    assert.equal(first.status, "connected");
    let state = await botState();
    assert.equal(state.sessions_started, before.sessions_started + 1, "one server session started");
    assert.ok(state.live_pc_ids.includes(first.sessionId), `sessionId is the bot's pc_id (${first.sessionId})`);

    // The echo reaches the speakers.
    await until(() => peakSince(tab, 0).then((p) => p > 0.01), { timeoutMs: 10_000, what: "the echo at the destination" });
    // An app message round-trips (Pipecat echoes JSON objects with a `type`).
    await tab.evaluate(() => window.link.send({ type: "voicelink-hello", n: 7 }));
    await until(() => tab.evaluate(() => window.messages.some((m) => m && m.type === "voicelink-hello" && m.n === 7)), {
      timeoutMs: 10_000,
      what: "the app message echoed",
    });

    // An outage as the library sees it: the transport's bytes stop growing in getStats.
    await tab.evaluate(() => {
      const real = RTCPeerConnection.prototype.getStats;
      const frozen = new WeakMap();
      RTCPeerConnection.prototype.getStats = async function (...a) {
        const report = await real.apply(this, a);
        const out = new Map();
        for (const [k, v] of report) {
          if (v.type === "transport") {
            if (!frozen.has(this)) frozen.set(this, v.bytesReceived);
            out.set(k, { ...v, bytesReceived: frozen.get(this) });
          } else out.set(k, v);
        }
        return out;
      };
      window.unfreeze = () => (RTCPeerConnection.prototype.getStats = real);
    });
    await tab.waitForFunction(() => window.link.getSnapshot().status === "interrupted", null, { timeout: 10_000 });
    assert.equal((await snap()).canReconnect, true, "the reconnect button shows");
    const mark = await quantaCount(tab);
    await tab.evaluate(async () => {
      window.unfreeze();
      await window.link.reconnect();
    });
    const back = await snap();
    assert.equal(back.status, "connected");
    assert.equal(back.sessionReplaced, false, "the same server session");
    assert.notEqual(back.sessionId, first.sessionId, "under a new pc_id");
    state = await botState();
    assert.equal(state.sessions_started, before.sessions_started + 1, "no second server session started");
    assert.equal(state.restarts_kept, before.restarts_kept + 1, "the bot kept the session through restart_pc");
    assert.ok(state.live_pc_ids.includes(back.sessionId));
    await until(() => peakSince(tab, mark).then((p) => p > 0.01), { timeoutMs: 10_000, what: "the echo after the reconnect" });
    const s = await probeSummary(tab);
    assert.equal(s.liveCaptureTracks, 1, "one microphone through the restart");
    assert.equal(s.openPeerConnections, 1, "the old peer connection is closed");

    await tab.evaluate(() => window.link.disconnect());
    await until(
      async () => {
        const st = await botState();
        const mine = st.sessions.find((x) => x.pc_ids.includes(back.sessionId));
        return mine && mine.closed;
      },
      { timeoutMs: 10_000, what: "the bot seeing the session closed" },
    );
    const left = await until(
      async () => {
        const x = await probeSummary(tab);
        return x.liveCaptureTracks === 0 && x.openPeerConnections === 0 && x.activeMediaElements === 0 ? x : false;
      },
      { timeoutMs: 3_000, what: "microphone and peer connections released" },
    );
    assert.equal(left.liveAudioContexts, 0);
  } finally {
    await context.close();
  }
});
