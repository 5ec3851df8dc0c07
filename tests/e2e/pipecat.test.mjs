// voicelink against a REAL Pipecat SmallWebRTC server (issue 14): pipecat-ai from PyPI, the echo
// bot in tests/pipecat/echo_bot.py (transport.input() → transport.output(), app messages
// echoed), on loopback. Once per browser (VOICELINK_BROWSERS, default "chromium,firefox";
// tests/e2e/browsers.mjs), with the browser-side probe:
//   connect with `signaling: "pipecat"` → the bot's session exists (/_state), the echo is heard
//   at the speakers (the probe's destination tap), an app message round-trips; an outage (the
//   page's getStats shows the received bytes frozen — transport stats in Chromium, the selected
//   candidate pair in Firefox, which has no transport stats — so the library's own outage
//   detector fires; the network itself is not cut) → the reconnect button → Pipecat's restart:
//   a new peer connection offered with the current pc_id and restart_pc BEFORE the old one
//   closes → the bot keeps the SAME server session (no second session started), the echo comes
//   back; disconnect → the bot sees the session closed; the microphone is released.
//
//   scripts/netns.sh scripts/with-peer.sh 7878 target/peer.log \
//     tests/pipecat/run.sh 7880 target/pipecat.log node --test tests/e2e/pipecat.test.mjs
// (VOICELINK_BROWSERS=firefox needs scripts/with-pulse.sh around node as well.)
// The page is the dev peer's origin (it serves /pkg/); the bot is another origin (CORS).
//
// tests/pipecat/run.sh sets VOICELINK_PIPECAT_URL. Without it the test is skipped — unless
// VOICELINK_REQUIRE_PIPECAT=1 (scripts/test-browser.sh, hence `npm test` and CI, sets it), where
// a missing bot is a failure: a test CI skips is a test that cannot fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { peerUrl, until } from "../../scripts/chromium.mjs";
import { eachBrowser, launch } from "./browsers.mjs";

const bot = (process.env.VOICELINK_PIPECAT_URL || "").replace(/\/+$/, "");
const required = process.env.VOICELINK_REQUIRE_PIPECAT === "1";
const skip = bot || required ? false : "VOICELINK_PIPECAT_URL not set (run through tests/pipecat/run.sh; VOICELINK_REQUIRE_PIPECAT=1 makes this a failure)";

async function botState() {
  const r = await fetch(`${bot}/_state`);
  if (!r.ok) throw new Error(`GET /_state: HTTP ${r.status}`);
  return r.json();
}

/** The destination's largest peak in the quanta recorded since `fromQuantum`. */
const peakSince = (tab, fromQuantum) =>
  tab.evaluate((from) => {
    const d = globalThis.__voicelinkProbe.destination(-1);
    return d ? d.quanta.slice(from).reduce((m, q) => Math.max(m, q[2]), 0) : 0;
  }, fromQuantum);
const quantaCount = (tab) => tab.evaluate(() => globalThis.__voicelinkProbe.destination(-1)?.quanta.length ?? 0);

/**
 * In the page: getStats reports the received bytes frozen at their first value, on the transport
 * stats (Chromium) and on every candidate pair (Firefox has no transport stats; the library then
 * reads the selected pair's). `window.unfreeze()` puts the real getStats back.
 */
function freezeReceivedBytes() {
  const real = RTCPeerConnection.prototype.getStats;
  const frozen = new WeakMap();
  RTCPeerConnection.prototype.getStats = async function (...a) {
    const report = await real.apply(this, a);
    if (!frozen.has(this)) frozen.set(this, new Map());
    const mine = frozen.get(this);
    const out = new Map();
    for (const [k, v] of report) {
      if ((v.type === "transport" || v.type === "candidate-pair") && typeof v.bytesReceived === "number") {
        if (!mine.has(k)) mine.set(k, v.bytesReceived);
        out.set(k, { ...v, bytesReceived: mine.get(k) });
      } else out.set(k, v);
    }
    return out;
  };
  window.unfreeze = () => (RTCPeerConnection.prototype.getStats = real);
}

eachBrowser((browser, browserName) => {
  test("Pipecat from PyPI: connect, echo, message, reconnect in the same server session, hang up", { timeout: 120_000, skip }, async () => {
    assert.ok(bot, "VOICELINK_REQUIRE_PIPECAT=1 but VOICELINK_PIPECAT_URL is not set: the Pipecat bot is not running (tests/pipecat/run.sh starts it)");
    const tab = await browser().newPage();
    try {
      tab.onPageError((e) => console.log(`  [${browserName} page error] ${e}`));
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

      // An outage as the library sees it: the received bytes stop growing in getStats.
      await tab.evaluate(freezeReceivedBytes);
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
      const s = await tab.probe();
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
          const x = await tab.probe();
          return x.liveCaptureTracks === 0 && x.openPeerConnections === 0 && x.activeMediaElements === 0 ? x : false;
        },
        { timeoutMs: 3_000, what: "microphone and peer connections released" },
      );
      assert.equal(left.liveAudioContexts, 0);
    } finally {
      await tab.close();
    }
  });
}, { when: () => !!bot });
