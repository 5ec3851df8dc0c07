// Shared by the e2e tests of the example apps (apps.test.mjs) and the demo page (demo.test.mjs):
// drives a connected page's mute button (#mute) and microphone picker (#microphone), and its
// "offline" hint (#offline), the way a person does, and judges the result from outside the app:
// the browser-side probe (tests/probe/probe.js) for the capture tracks, the dev peer for the
// session and the uplink audio it hears (rtpPacketsIn, rtpAudiblePacketsIn).
import assert from "node:assert/strict";
import { peerJson, peerUrl, until } from "../../scripts/chromium.mjs";

/** Every capture track the probe saw on the page, oldest first: `{ state, deviceId }`. */
const captures = (page) =>
  page.evaluate(() =>
    globalThis.__voicelinkProbe.captureTracks.map(({ track }) => ({ state: track.readyState, deviceId: track.getSettings().deviceId ?? null })),
  );

const liveCount = (list) => list.filter((c) => c.state === "live").length;

async function peerSession(id) {
  const s = (await peerJson("/_dev/state")).sessions.find((x) => x.id === id);
  assert.ok(s, `the dev peer no longer lists session ${id}`);
  return s;
}

/** Waits (up to 5 s) until the dev peer has received `audible ? audible : any` uplink RTP of session `id` since now. */
async function uplinkGrows(id, { audible, what }) {
  const key = audible ? "rtpAudiblePacketsIn" : "rtpPacketsIn";
  const before = (await peerSession(id))[key];
  await until(async () => (await peerSession(id))[key] > before + 5, { timeoutMs: 5_000, what: `${what} (${key} of session ${id} growing from ${before})` });
}

async function waitForText(page, sel, text, timeout = 5_000) {
  try {
    await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [sel, text], { timeout });
  } catch (e) {
    throw new Error(`${sel} never read "${text}" within ${timeout} ms (it reads ${JSON.stringify(await page.textContent(sel))})`, { cause: e });
  }
}

/** The page still shows status "connected" and session `id`, and the dev peer has it connected, never restarted. */
async function sameSession(page, id, when) {
  assert.equal(await page.textContent("#status"), "connected", `${when}: the call is no longer connected`);
  assert.equal((await page.textContent("#session")).trim(), id, `${when}: the page shows another session`);
  const s = await peerSession(id);
  assert.equal(s.state, "connected", `${when}: the dev peer sees session ${id} as ${s.state}`);
  assert.equal(s.iceRestarts, 0, `${when}: the session was restarted`);
  const probe = await page.probe();
  assert.equal(probe.peerConnections, 1, `${when}: another peer connection was made: ${JSON.stringify(probe)}`);
}

/**
 * On a page connected to session `id` (one live capture track, from the default device): Mute →
 * no live capture track, the button reads "Unmute", silence keeps flowing; Unmute → one live
 * track, audible again; choosing the last non-"default" microphone in the picker (Chromium's fake
 * devices list several inputs, Firefox's may list one: either way a swap away from "default") →
 * the old track ended, one live track from that device, audible; the same session throughout.
 * `whileMuted(page)`: more checks of what the page shows while muted.
 */
export async function muteUnmuteAndSwitch(page, id, { whileMuted } = {}) {
  assert.equal(await page.textContent("#mute"), "Mute");
  assert.equal(liveCount(await captures(page)), 1, "one live capture track once connected");

  // Mute: the capture track is stopped (the browser's indicator goes off), the call goes on.
  await page.click("#mute");
  await waitForText(page, "#mute", "Unmute");
  await until(async () => liveCount(await captures(page)) === 0, { timeoutMs: 2_000, what: "no live capture track after Mute" }).catch(async (e) => {
    throw new Error(`${e.message}; capture tracks: ${JSON.stringify(await captures(page))}`);
  });
  await uplinkGrows(id, { audible: false, what: "RTP (silence) reaching the dev peer while muted" });
  await page.waitForFunction(() => Number(document.querySelector("#mic-level").value) === 0, null, { timeout: 5_000 });
  await sameSession(page, id, "muted");
  await whileMuted?.(page);

  // Unmute: captured again (a new track, same constraints), heard again.
  await page.click("#mute");
  await waitForText(page, "#mute", "Mute");
  await until(async () => liveCount(await captures(page)) === 1, { timeoutMs: 5_000, what: "one live capture track after Unmute" });
  await uplinkGrows(id, { audible: true, what: "audible uplink after Unmute" });
  await sameSession(page, id, "unmuted");

  // The picker: filled once connected; "default" chosen.
  await page.waitForFunction(() => !document.querySelector("#microphone").disabled && document.querySelectorAll("#microphone option").length > 1, null, {
    timeout: 10_000,
  });
  assert.equal(await page.inputValue("#microphone"), "default");
  const target = await page.evaluate(() => [...document.querySelectorAll("#microphone option")].map((o) => o.value).filter((v) => v !== "default").at(-1));
  assert.ok(target, "the picker lists no microphone");
  const before = await captures(page);
  const old = before.findIndex((c) => c.state === "live");

  await page.select("#microphone", target);
  const after = await until(
    async () => {
      const now = await captures(page);
      return now.length === before.length + 1 && now[old].state === "ended" && liveCount(now) === 1 && now.at(-1).state === "live" && now;
    },
    { timeoutMs: 5_000, what: `the swap to ${target}: the old track ended, one new live track` },
  ).catch(async (e) => {
    throw new Error(`${e.message}; capture tracks before ${JSON.stringify(before)}, now ${JSON.stringify(await captures(page))}`);
  });
  assert.equal(after.at(-1).deviceId, target, "the live track is not from the chosen microphone");
  assert.equal(await page.inputValue("#microphone"), target, "the picker does not show the chosen microphone");
  await uplinkGrows(id, { audible: true, what: "audible uplink from the new microphone" });
  await sameSession(page, id, "after the microphone switch");
}

/**
 * The network goes (the dev peer black-holes session `id`'s transport) and the browser says so
 * (`offline`): the page shows #offline (`networkOnline: false`) and the call is interrupted;
 * `online` again: the hint goes, and Reconnect (the manual policy's button) brings back session
 * `id`. The transport is really cut: with it alive, bytes keep arriving and the link rightly
 * heals by itself.
 *
 * The interruption is judged 2 s after the cut, once the link's own detector (`outageTimeoutMs`,
 * 1.5 s) holds it too: the outage the `offline` event declares at once can heal at the next stats
 * tick on bytes that arrived before the cut (seen in Chromium: interrupted → connected within
 * ~100 ms, then interrupted again at ~1.7 s), and a Reconnect button clicked then is gone.
 */
export async function offlineHint(page, id) {
  assert.equal(await page.isHidden("#offline"), true, "the offline hint shows while online");
  const res = await fetch(`${peerUrl}/_dev/sessions/${id}/drop`, { method: "POST" });
  assert.equal(res.status, 200, `POST /_dev/sessions/${id}/drop: HTTP ${res.status}`);
  const cutAt = Date.now();
  await page.evaluate(() => window.dispatchEvent(new Event("offline")));
  await page.waitFor("#offline", "visible", { timeout: 1_000 });
  await until(async () => Date.now() - cutAt > 2_000 && (await page.textContent("#status")) === "interrupted", {
    timeoutMs: 5_000,
    what: "the call interrupted after the cut",
  });
  assert.equal(await page.isVisible("#offline"), true, "the offline hint went while offline");
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await page.waitFor("#offline", "hidden", { timeout: 1_000 });
  await page.click("#reconnect");
  await waitForText(page, "#status", "connected", 20_000);
  assert.equal((await page.textContent("#session")).trim(), id, "Reconnect after going online made another session");
}
