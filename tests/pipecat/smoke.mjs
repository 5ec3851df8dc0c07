// Smoke test of the Pipecat SmallWebRTC echo bot (tests/pipecat/echo_bot.py)
// with a plain RTCPeerConnection in headless Chromium: no voicelink code, so a
// failure here is the server's (or the machine's), not the client's.
//
//   tests/pipecat/setup.sh
//   scripts/netns.sh tests/pipecat/run.sh 7880 target/pipecat.log node tests/pipecat/smoke.mjs
//
// VOICELINK_PIPECAT_URL (run.sh sets it) names the bot. Steps, each timed:
//   1. getUserMedia (fake mic: beeps) + data channel, POST /api/offer, apply the answer;
//      the answer's candidates must all be 127.0.0.1; connectionState "connected";
//   2. remote audio: an AnalyserNode on the remote track peaks > 0.01 within 5 s;
//   3. an app message {type, n, sentAt} comes back unchanged on the data channel;
//   4. restart: a new pc POSTs {pc_id: <current>, restart_pc: true} before the old one
//      is closed; /_state must show the same session (sessions_started 1,
//      restarts_kept 1) under the new pc_id; remote audio again within 5 s, and
//      still after SMOKE_HOLD_S (default 12) seconds, past Pipecat's 10 s
//      audio-write timeout; the app message round-trips on the new pc;
//   5. close: the server marks the session closed and has no live pc.
// Prints one JSON line of timings (ms) at the end; exits non-zero on failure.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { launchChromium, until } from "../../scripts/chromium.mjs";

const base = (process.env.VOICELINK_PIPECAT_URL || "http://127.0.0.1:7880").replace(/\/+$/, "");
const holdS = Number(process.env.SMOKE_HOLD_S ?? 12);
const pageOrigin = (() => {
  const u = new URL(base);
  u.port = String(Number(u.port || 80) + 1); // another origin: the offer POST is cross-origin (CORS)
  return u.origin;
})();

async function state() {
  const res = await fetch(`${base}/_state`);
  if (!res.ok) throw new Error(`GET /_state: HTTP ${res.status}`);
  return res.json();
}

// Runs in the page: window.smoke.{connect, peak, send, close}.
const pageScript = () => {
  const pcs = new Map(); // name -> { pc, dc, analyser, audio, messages }
  const ctx = new AudioContext();
  let micStream = null;

  async function connect(base, name, { pcId = null, restart = false } = {}) {
    const t = { start: performance.now() };
    micStream ??= await navigator.mediaDevices.getUserMedia({ audio: true });
    t.gum = performance.now() - t.start;
    const pc = new RTCPeerConnection();
    const entry = { pc, dc: null, analyser: null, audio: null, messages: [] };
    pcs.set(name, entry);
    pc.addTransceiver(micStream.getAudioTracks()[0], { direction: "sendrecv", streams: [micStream] });
    const dc = pc.createDataChannel("events");
    entry.dc = dc;
    dc.onmessage = (e) => entry.messages.push({ data: e.data, at: performance.now() });
    const remote = new Promise((resolve) => {
      pc.ontrack = (e) => resolve(e.streams[0] ?? new MediaStream([e.track]));
    });
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise((resolve) => {
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
        setTimeout(resolve, 3000);
      });
    }
    const t0 = performance.now();
    const res = await fetch(`${base}/api/offer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        sdp: pc.localDescription.sdp,
        type: pc.localDescription.type,
        pc_id: pcId,
        restart_pc: restart,
        request_data: { from: "tests/pipecat/smoke.mjs" },
      }),
    });
    if (!res.ok) throw new Error(`POST /api/offer: HTTP ${res.status} ${await res.text()}`);
    const answer = await res.json();
    t.post = performance.now() - t0;
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    if (pc.connectionState !== "connected") {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`connectionState ${pc.connectionState} after 10 s`)), 10_000);
        pc.addEventListener("connectionstatechange", () => {
          if (pc.connectionState === "connected") { clearTimeout(timer); resolve(); }
          if (pc.connectionState === "failed") { clearTimeout(timer); reject(new Error("connectionState failed")); }
        });
      });
    }
    t.connected = performance.now() - t.start;
    if (dc.readyState !== "open") await new Promise((resolve) => dc.addEventListener("open", resolve, { once: true }));
    t.dcOpen = performance.now() - t.start;
    const stream = await remote;
    // Chromium plays remote WebRTC audio into Web Audio only while a media element has it.
    entry.audio = new Audio();
    entry.audio.muted = true;
    entry.audio.srcObject = stream;
    await entry.audio.play().catch(() => {});
    await ctx.resume();
    entry.analyser = ctx.createAnalyser();
    entry.analyser.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(entry.analyser);
    const candidates = answer.sdp.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:"));
    return { pcId: answer.pc_id, type: answer.type, keys: Object.keys(answer).sort(), candidates, t };
  }

  /** Resolves with ms until the remote audio peaks above `threshold`, or null after `timeoutMs`. */
  async function peak(name, threshold = 0.01, timeoutMs = 5000) {
    const { analyser } = pcs.get(name);
    const buf = new Float32Array(analyser.fftSize);
    const t0 = performance.now();
    let max = 0;
    while (performance.now() - t0 < timeoutMs) {
      analyser.getFloatTimeDomainData(buf);
      for (const v of buf) max = Math.max(max, Math.abs(v));
      if (max > threshold) return { ms: Math.round(performance.now() - t0), peak: max };
      await new Promise((r) => setTimeout(r, 10));
    }
    return { ms: null, peak: max };
  }

  /** Sends `msg` as JSON; resolves with the round trip (ms) and what came back. */
  async function send(name, msg, timeoutMs = 5000) {
    const entry = pcs.get(name);
    const t0 = performance.now();
    const text = JSON.stringify(msg);
    entry.dc.send(text);
    while (performance.now() - t0 < timeoutMs) {
      const hit = entry.messages.find((m) => m.at >= t0 && JSON.parse(m.data)?.n === msg.n);
      if (hit) return { ms: Math.round(hit.at - t0), echoed: JSON.parse(hit.data), raw: hit.data };
      await new Promise((r) => setTimeout(r, 5));
    }
    return { ms: null, received: entry.messages.map((m) => m.data) };
  }

  function close(name) {
    const entry = pcs.get(name);
    entry.pc.close();
    entry.audio.srcObject = null;
  }

  function stopMic() {
    micStream?.getTracks().forEach((t) => t.stop());
  }

  window.smoke = { connect, peak, send, close, stopMic };
};

const timings = {};
const t = (name, ms) => (timings[name] = Math.round(ms));
const step = (msg) => console.log(`smoke: ${msg}`);

// The page comes from a real loopback server on another port: a page Chromium
// did not load from a loopback address (e.g. a playwright route) is refused the
// loopback POST by Local Network Access.
const pageServer = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html" });
  res.end("<!doctype html><title>pipecat smoke</title>");
});
await new Promise((resolve, reject) => {
  pageServer.once("error", reject);
  pageServer.listen(Number(new URL(pageOrigin).port), "127.0.0.1", resolve);
});

const browser = await launchChromium();
let failed = false;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && console.log(`  [page error] ${m.text()}`));
  await page.goto(`${pageOrigin}/smoke`);
  await page.evaluate(pageScript);

  // 1. connect
  let t0 = Date.now();
  const a = await page.evaluate(([b]) => window.smoke.connect(b, "a"), [base]);
  t("connect_total", Date.now() - t0);
  t("post_offer", a.t.post);
  t("connected", a.t.connected);
  t("data_channel_open", a.t.dcOpen);
  step(`connected as ${a.pcId} (POST ${Math.round(a.t.post)} ms, connected after ${Math.round(a.t.connected)} ms)`);
  assert.deepEqual(a.keys, ["pc_id", "sdp", "type"], "answer keys");
  assert.equal(a.type, "answer");
  assert.ok(a.candidates.length > 0, "the answer has candidates");
  for (const c of a.candidates) assert.match(c, / 127\.0\.0\.1 \d+ typ host/, `non-loopback candidate: ${c}`);
  step(`answer candidates: ${a.candidates.join(" | ")}`);

  // 2. audio
  const p1 = await page.evaluate(() => window.smoke.peak("a"));
  assert.ok(p1.ms !== null, `no remote audio within 5 s (peak ${p1.peak})`);
  t("first_audio", p1.ms);
  step(`remote audio after ${p1.ms} ms (peak ${p1.peak.toFixed(3)})`);

  // 3. app message
  const msg1 = { type: "smoke-hello", n: 1, sentAt: Date.now(), nested: { ok: true } };
  const e1 = await page.evaluate(([m]) => window.smoke.send("a", m), [msg1]);
  assert.ok(e1.ms !== null, `app message did not come back: ${JSON.stringify(e1)}`);
  assert.deepEqual(e1.echoed, msg1);
  t("app_message_rtt", e1.ms);
  step(`app message echoed in ${e1.ms} ms: ${e1.raw}`);

  let s = await until(async () => {
    const st = await state();
    return st.app_messages_received >= 1 && st;
  }, { timeoutMs: 3000, what: "/_state app message" });
  assert.equal(s.sessions_started, 1);
  assert.deepEqual(s.live_pc_ids, [a.pcId]);
  assert.ok(s.sessions[0].audio_frames_out > 0, "no echoed audio frames");

  // 4. restart: the new pc POSTs before the old one closes (as Pipecat's client does)
  t0 = Date.now();
  const b = await page.evaluate(([b, pcId]) => window.smoke.connect(b, "b", { pcId, restart: true }), [base, a.pcId]);
  await page.evaluate(() => window.smoke.close("a"));
  t("restart_total", Date.now() - t0);
  t("restart_post_offer", b.t.post);
  t("restart_connected", b.t.connected);
  step(`restarted as ${b.pcId} (POST ${Math.round(b.t.post)} ms, connected after ${Math.round(b.t.connected)} ms)`);
  assert.notEqual(b.pcId, a.pcId, "a restart answers under a new pc_id");
  for (const c of b.candidates) assert.match(c, / 127\.0\.0\.1 \d+ typ host/, `non-loopback candidate: ${c}`);
  s = await state();
  assert.equal(s.sessions_started, 1, "the restart kept the server session");
  assert.equal(s.restarts_kept, 1);
  assert.equal(s.sessions[0].pc_id, b.pcId);
  assert.deepEqual(s.sessions[0].pc_ids, [a.pcId, b.pcId]);

  const p2 = await page.evaluate(() => window.smoke.peak("b"));
  assert.ok(p2.ms !== null, `no remote audio within 5 s after the restart (peak ${p2.peak})`);
  t("audio_after_restart", p2.ms);
  step(`remote audio after the restart: ${p2.ms} ms (peak ${p2.peak.toFixed(3)})`);

  const msg2 = { type: "smoke-hello", n: 2, sentAt: Date.now() };
  const e2 = await page.evaluate(([m]) => window.smoke.send("b", m), [msg2]);
  assert.ok(e2.ms !== null, `app message did not come back after the restart: ${JSON.stringify(e2)}`);
  assert.deepEqual(e2.echoed, msg2);
  t("app_message_rtt_after_restart", e2.ms);

  if (holdS > 0) {
    step(`holding ${holdS} s (past Pipecat's 10 s audio-write timeout)`);
    await new Promise((r) => setTimeout(r, holdS * 1000));
    const p3 = await page.evaluate(() => window.smoke.peak("b"));
    assert.ok(p3.ms !== null, `no remote audio ${holdS} s after the restart (peak ${p3.peak})`);
    t("audio_after_hold", p3.ms);
    step(`remote audio still there after ${holdS} s: ${p3.ms} ms`);
  }
  s = await state();
  step(`state after restart: ${JSON.stringify({ ...s, app_messages: s.app_messages.length })}`);
  assert.equal(s.sessions_started, 1);
  assert.deepEqual(s.live_pc_ids, [b.pcId]);

  // 5. close
  t0 = Date.now();
  await page.evaluate(() => { window.smoke.close("b"); window.smoke.stopMic(); });
  s = await until(async () => {
    const st = await state();
    return st.sessions[0].closed && st.live_pc_ids.length === 0 && !st.sessions[0].bot_running && st;
  }, { timeoutMs: 10_000, what: "server session closed, no live pc, bot ended" });
  t("close_to_server_closed", Date.now() - t0);
  step(`closed; server session closed and bot ended after ${timings.close_to_server_closed} ms`);
  await context.close();
} catch (e) {
  failed = true;
  console.error(`smoke: FAILED: ${e.stack || e}`);
  try {
    console.error(`smoke: /_state: ${JSON.stringify(await state())}`);
  } catch {}
} finally {
  await browser.close();
  pageServer.close();
}
console.log(JSON.stringify({ ok: !failed, timings_ms: timings }));
process.exit(failed ? 1 : 0);
