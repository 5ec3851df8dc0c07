// The dev peer's uplink audio level report against a real Chromium: a plain
// RTCPeerConnection (no voicelink) does a WHIP POST, sends a mic track, mutes
// it (`track.enabled = false`) and unmutes it, while the script reads
// GET /_dev/state: `rtpAudiblePacketsIn` grows while the mic is on and stops
// while it is muted (`rtpPacketsIn` goes on), and the mute shows as one entry
// of `uplinkSilentGaps`. Two mics: a steady 440 Hz tone (Web Audio), which is
// asserted on, then Chromium's fake capture device (a beep about once a
// second), whose figures are printed only.
//
// Run from the repository root, with the dev peer built (release) and
// playwright-core installed (npm ci); inside a loopback-only namespace:
//
//   cargo build --release -p voicelink-dev-peer
//   scripts/netns.sh node tests/dev-peer/e2e/uplink-level.mjs
//
// It starts its own dev peer (VOICELINK_PEER_BIN, default
// target/release/voicelink-dev-peer) on port UPLINK_PORT (default 7891) and
// stops it at the end. Exit status 0: every check held.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { launchChromium, repoRoot } from "../../../scripts/chromium.mjs";

const port = Number(process.env.UPLINK_PORT || 7891);
const bin = process.env.VOICELINK_PEER_BIN || `${repoRoot}target/release/voicelink-dev-peer`;
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the dev peer; resolves once it prints its ready line. */
function startPeer() {
  const child = spawn(bin, ["--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`no ready line from ${bin}:\n${log}`)), 15_000);
    child.stderr.on("data", (d) => {
      log += d;
      if (log.includes("voicelink dev peer listening on")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => reject(new Error(`${bin} exited (${code}):\n${log}`)));
  });
}

async function session(id) {
  const state = await (await fetch(`${base}/_dev/state`)).json();
  const s = state.sessions.find((x) => x.id === id);
  assert.ok(s, `session ${id} in /_dev/state`);
  return s;
}

/** In the page: a mic track (`tone` or the fake device), a WHIP session; the session id. */
async function connect(page, mic) {
  return page.evaluate(async (mic) => {
    let track;
    if (mic === "tone") {
      const ctx = new AudioContext();
      const osc = new OscillatorNode(ctx, { frequency: 440 });
      const gain = new GainNode(ctx, { gain: 0.5 });
      const dest = ctx.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      track = dest.stream.getAudioTracks()[0];
    } else {
      track = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
    }
    const pc = new RTCPeerConnection();
    pc.addTransceiver(track, { direction: "sendrecv" });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch("/whip", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error(`POST /whip: ${res.status}`);
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    const t0 = Date.now();
    while (pc.connectionState !== "connected") {
      if (Date.now() - t0 > 10_000) throw new Error(`connectionState ${pc.connectionState}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    window.uplink = { pc, track, location: res.headers.get("Location") };
    return res.headers.get("X-Session-ID");
  }, mic);
}

const setEnabled = (page, on) => page.evaluate((on) => { window.uplink.track.enabled = on; }, on);

/** Counts over `ms`: RTP packets and audible ones. */
async function window_(id, ms) {
  const a = await session(id);
  await sleep(ms);
  const b = await session(id);
  return { rtp: b.rtpPacketsIn - a.rtpPacketsIn, audible: b.rtpAudiblePacketsIn - a.rtpAudiblePacketsIn, end: b };
}

async function run(page, mic) {
  const id = await connect(page, mic);
  await sleep(500);
  const on = await window_(id, 2000);
  await setEnabled(page, false);
  const mutedAt = Date.now();
  await sleep(300);
  const muted = await window_(id, 2000);
  await setEnabled(page, true);
  const unmutedAt = Date.now();
  await sleep(1000);
  const s = await session(id);
  const gaps = s.uplinkSilentGaps.map((g) => Math.round(g.endMs - g.startMs));
  const muteGap = s.uplinkSilentGaps.find((g) => g.startMs <= mutedAt + 50 && g.endMs >= unmutedAt - 50);
  console.log(
    `${mic}: on 2 s: ${on.rtp} RTP, ${on.audible} audible (level ${on.end.uplinkLevelDbov} dBov); ` +
      `muted 2 s: ${muted.rtp} RTP, ${muted.audible} audible (level ${muted.end.uplinkLevelDbov} dBov); ` +
      `gaps (ms): [${gaps.join(", ")}]; mute ${unmutedAt - mutedAt} ms, its gap ` +
      (muteGap ? `${Math.round(muteGap.endMs - muteGap.startMs)} ms (${Math.round(muteGap.startMs - mutedAt)} ms after the mute, ` +
        `${Math.round(muteGap.endMs - unmutedAt)} ms after the unmute)` : "not found") +
      `; last audible ${Math.round(Date.now() - s.lastAudibleInAtMs)} ms ago, last RTP ${Math.round(Date.now() - s.lastRtpInAtMs)} ms ago`,
  );
  await page.evaluate(async () => {
    window.uplink.pc.close();
    await fetch(window.uplink.location, { method: "DELETE" });
  });
  return { on, muted, s, muteGap };
}

const peer = await startPeer();
let browser;
try {
  browser = await launchChromium();
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/_dev/health`);

  const tone = await run(page, "tone");
  assert.ok(tone.on.rtp >= 80, `RTP while on: ${tone.on.rtp}`);
  assert.ok(tone.on.audible >= tone.on.rtp - 2, `a steady tone is audible: ${tone.on.audible} of ${tone.on.rtp}`);
  assert.ok(tone.muted.rtp >= 80, `RTP goes on while muted: ${tone.muted.rtp}`);
  assert.ok(tone.muted.audible <= 2, `nothing audible while muted: ${tone.muted.audible}`);
  assert.equal(tone.muted.end.uplinkLevelDbov, -127, "muted: digital silence");
  assert.ok(tone.muteGap, "the mute is a silent gap");
  assert.ok(Date.now() - tone.s.lastAudibleInAtMs < 1000, "audible again after the unmute");

  await run(page, "fake");
} finally {
  await browser?.close();
  peer.kill();
}
