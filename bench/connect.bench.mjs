// Connect time, side by side in one page (issue 16): voicelink against a plain WHIP client,
// with a STUN server that never answers, and after prepare(). Headless Chromium, then headless
// Firefox (VOICELINK_BROWSERS, default both), against the dev peer on loopback (started by
// scripts/with-peer.sh with --dead-stun 0: a UDP socket on 127.0.0.1 that drops every
// datagram, its port read from /_dev/state).
//
// One page (the demo page, for its origin; the library is imported from /pkg/index.js), RUNS
// rounds; each round times, in this order, one connect of each kind, each followed by an
// untimed hang-up and a wait until the dev peer has no open session:
//   voicelink   new VoiceLink({ url: "/whip" }); t = performance.now() around `await connect()`
//   plain       a plain WHIP client: getUserMedia, RTCPeerConnection, addTrack, data channel,
//               createOffer, setLocalDescription, wait for iceGatheringState "complete"
//               (bounded 2 s, as a non-trickle WHIP client does), POST, setRemoteDescription,
//               until connectionState "connected" and the channel open
//   dead_stun   voicelink with iceServers [stun:127.0.0.1:<dead port>]
//   prepared    voicelink, `await prepare()` then 300 ms (the hover before the click) untimed,
//               then timed `await connect()`
// Keys (Chromium; Firefox the same with .firefox):
//   connect.ms_p50, connect.plain_ms_p50, connect.dead_stun_ms_p50, connect.prepared_ms_p50 (ms)
//   connect.ratio_vs_plain        = ms_p50 / plain_ms_p50           (goal ≤ 1.05)
//   connect.dead_stun_ratio       = dead_stun_ms_p50 / plain_ms_p50 (goal ≤ 1.2)
// BENCH_CONNECT_RUNS (default 15) sets the number of rounds.
import { peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, round, newBenchPage, perBrowser, launchBrowser, browserVersion, gotoPage, waitForPage } from "./lib.mjs";

export const name = "connect";
export const needsPeer = true;

const RUNS = Number(process.env.BENCH_CONNECT_RUNS || 15);
const KINDS = ["voicelink", "plain", "dead_stun", "prepared"];

/** In the page: one timed connect of `kind`, then the untimed hang-up. Resolves with ms. */
async function timeOne({ kind, deadStunPort }) {
  const { VoiceLink } = await import("/pkg/index.js");
  const url = new URL("/whip", location.href).href;
  if (kind === "plain") {
    const t0 = performance.now();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection();
    pc.addTrack(stream.getAudioTracks()[0], stream);
    const dc = pc.createDataChannel("events");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const t = setTimeout(resolve, 2000);
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && (clearTimeout(t), resolve()));
    });
    const r = await fetch(url, { method: "POST", body: pc.localDescription.sdp, headers: { "Content-Type": "application/sdp" } });
    if (r.status !== 201) throw new Error(`plain: POST answered ${r.status}`);
    const location = new URL(r.headers.get("Location"), url).href;
    await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
    await new Promise((resolve, reject) => {
      const check = () => pc.connectionState === "connected" && dc.readyState === "open" && resolve();
      pc.addEventListener("connectionstatechange", () => (pc.connectionState === "failed" ? reject(new Error("plain: failed")) : check()));
      dc.addEventListener("open", check);
      check();
    });
    const ms = performance.now() - t0;
    stream.getTracks().forEach((t) => t.stop());
    pc.close();
    await fetch(location, { method: "DELETE" });
    return ms;
  }
  const options = { url };
  if (kind === "dead_stun") options.iceServers = [{ urls: `stun:127.0.0.1:${deadStunPort}` }];
  const link = new VoiceLink(options);
  try {
    if (kind === "prepared") {
      await link.prepare();
      await new Promise((r) => setTimeout(r, 300));
    }
    const t0 = performance.now();
    await link.connect();
    return performance.now() - t0;
  } finally {
    await link.disconnect();
    link.dispose();
  }
}

export function run() {
  return perBrowser(runIn);
}

async function runIn(browserName) {
  const browser = await launchBrowser(browserName);
  try {
    console.log(`  ${browserName} ${await browserVersion(browser)}`);
    const deadStunPort = (await peerJson("/_dev/state")).deadStunPort;
    if (!deadStunPort) throw new Error("the dev peer has no dead STUN server (scripts/with-peer.sh passes --dead-stun 0)");
    const page = await newBenchPage(browser);
    await gotoPage(page, `${peerUrl}/`);
    await waitForPage(page, () => !document.querySelector("#connect").disabled, null, 20_000);

    const times = Object.fromEntries(KINDS.map((k) => [k, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const kind of KINDS) {
        times[kind].push(await page.evaluate(timeOne, { kind, deadStunPort }));
        await until(async () => (await peerJson("/_dev/state")).sessionsOpen === 0, {
          timeoutMs: 10_000,
          what: "the dev peer to report sessionsOpen 0",
        });
      }
    }

    const p50 = {};
    for (const kind of KINDS) {
      const s = summary(times[kind]);
      p50[kind] = s.p50;
      console.log(`  ${kind.padEnd(10)} ${s.n} connects: p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms, min ${s.min.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`);
      console.log(`  ${"".padEnd(10)} all (ms): ${times[kind].map((t) => t.toFixed(0)).join(" ")}`);
    }
    const deadStunDatagrams = (await peerJson("/_dev/state")).deadStunDatagrams;
    console.log(`  the dead STUN server got ${deadStunDatagrams} datagrams (it must be > 0: the browsers did ask it)`);
    if (!(deadStunDatagrams > 0)) throw new Error("no datagram reached the dead STUN server: the dead_stun runs measured nothing");
    const ratio = p50.voicelink / p50.plain;
    const deadRatio = p50.dead_stun / p50.plain;
    console.log(`  ratio vs plain ${ratio.toFixed(3)} (goal ≤ 1.05), dead STUN ratio ${deadRatio.toFixed(3)} (goal ≤ 1.2), prepared ${p50.prepared.toFixed(1)} ms vs ${p50.voicelink.toFixed(1)} ms`);
    return {
      "connect.ms_p50": round(p50.voicelink),
      "connect.plain_ms_p50": round(p50.plain),
      "connect.ratio_vs_plain": round(ratio, 3),
      "connect.dead_stun_ms_p50": round(p50.dead_stun),
      "connect.dead_stun_ratio": round(deadRatio, 3),
      "connect.prepared_ms_p50": round(p50.prepared),
    };
  } finally {
    await browser.close();
  }
}
