// End-to-end: the demo page (www/index.html) in headless Chromium and headless Firefox, talking
// to the dev peer, driven like a person would: click, type, read the screen. Every test body runs
// once per browser (VOICELINK_BROWSERS, default "chromium,firefox"; tests/e2e/browsers.mjs).
// Every page has the browser-side probe (tests/probe/probe.js) installed before the page's own
// scripts, and every exit asserts from it that no capture track is live and no peer connection
// is open.
//
//   node --test tests/e2e/          (scripts/test.sh runs it with the peer up)
//   VOICELINK_PEER_URL=http://127.0.0.1:7878 (default) names the dev peer.
// Screenshots go to tests/e2e/out/<browser>-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { peerUrl, peerJson, until } from "../../scripts/chromium.mjs";
import { eachBrowser, launch } from "./browsers.mjs";
import { muteUnmuteAndSwitch, offlineHint } from "./microphone.mjs";

const outDir = fileURLToPath(new URL("./out/", import.meta.url));
mkdirSync(outDir, { recursive: true });

async function peerSession(id) {
  const state = await peerJson("/_dev/state");
  return state.sessions.find((s) => s.id === id);
}

/**
 * Init script: every AudioContext made on the page reads "suspended" for its first 1.5 s and
 * then turns "running" with a `statechange` event — what Firefox does while a new context's
 * audio output is starting (tens of ms on a desktop; ~2 s measured on a sound server that
 * wakes rarely), while Chromium reads "running" at once. Not an autoplay block: the audio plays.
 */
function lateAudioStart() {
  const LATE_MS = 1500;
  const state = Object.getOwnPropertyDescriptor(BaseAudioContext.prototype, "state");
  const startsAt = new WeakMap();
  Object.defineProperty(BaseAudioContext.prototype, "state", {
    ...state,
    get() {
      const real = state.get.call(this);
      return real === "running" && performance.now() < (startsAt.get(this) ?? 0) ? "suspended" : real;
    },
  });
  const Ac = globalThis.AudioContext;
  globalThis.AudioContext = new Proxy(Ac, {
    construct(target, args, newTarget) {
      const ctx = Reflect.construct(target, args, newTarget);
      startsAt.set(ctx, performance.now() + LATE_MS);
      setTimeout(() => ctx.dispatchEvent(new Event("statechange")), LATE_MS + 10);
      return ctx;
    },
  });
}

/**
 * Init script: `createMediaStreamSource` of the microphone's stream throws NotSupportedError, as
 * older Firefox did when the capture device's sample rate differed from the AudioContext's
 * ("Connecting AudioNodes from AudioContexts with different sample-rate is currently not
 * supported"). Firefox 153 ESR no longer throws (checked at 8–96 kHz); voicelink must still
 * connect and play where it does.
 */
function micSourceThrows() {
  const create = AudioContext.prototype.createMediaStreamSource;
  AudioContext.prototype.createMediaStreamSource = function (stream) {
    const captured = new Set(globalThis.__voicelinkProbe.captureTracks.map((c) => c.track));
    if (stream.getTracks().some((t) => captured.has(t))) {
      throw new DOMException("Connecting AudioNodes from AudioContexts with different sample-rate is currently not supported.", "NotSupportedError");
    }
    return create.call(this, stream);
  };
}

eachBrowser((browser, browserName) => {
  /** Opens the demo page in a fresh context; resolves once the wasm is up (Connect enabled). */
  async function openDemo(query = "", initScripts = []) {
    const page = await browser().newPage({ initScripts });
    const pageErrors = [];
    page.onPageError((e) => pageErrors.push(e));
    page.onConsole((type, text) => {
      if (type === "error" || process.env.E2E_VERBOSE) console.log(`  [${browserName} page ${type}] ${text}`);
    });
    await page.goto(`${peerUrl}/${query}`);
    await page.waitForFunction(
      () => !document.querySelector("#connect").disabled || !document.querySelector("#error").hidden,
      null,
      { timeout: 20_000 },
    );
    assert.equal(await page.textContent("#error"), "", "the page shows an error right after loading");
    return { page, pageErrors };
  }

  /** What the page shows, for failure messages. */
  async function screen(page) {
    return page.evaluate(() => ({
      status: document.querySelector("#status").textContent,
      session: document.querySelector("#session").textContent,
      error: document.querySelector("#error").textContent,
    }));
  }

  /** Waits (bounded) until #status reads exactly `status`. */
  async function waitForStatus(page, status, timeout = 20_000) {
    try {
      await page.waitForFunction((s) => document.querySelector("#status").textContent === s, status, { timeout });
    } catch (e) {
      throw new Error(`#status never read "${status}" within ${timeout} ms; page shows ${JSON.stringify(await screen(page))}`, { cause: e });
    }
  }

  const shot = (page, name) => page.screenshot(`${outDir}${browserName}-${name}.png`);

  test("demo page: connect, echo a data-channel message, disconnect", { timeout: 120_000 }, async () => {
    const { page, pageErrors } = await openDemo();
    try {
      assert.equal(await page.textContent("#status"), "idle");
      assert.equal(await page.textContent("#mic-label"), "Microphone off");

      await page.click("#connect");
      await waitForStatus(page, "connected");

      const sessionId = (await page.textContent("#session")).trim();
      assert.ok(sessionId, "#session shows no session id while connected");
      assert.equal(await page.textContent("#mic-label"), "Microphone on");
      assert.equal(await page.isHidden("#error"), true, "an error is shown while connected");
      const live = await page.probe();
      assert.equal(live.liveCaptureTracks, 1, `one live microphone track while connected: ${JSON.stringify(live)}`);
      assert.equal(live.openPeerConnections, 1, `one open peer connection while connected: ${JSON.stringify(live)}`);

      // What the connected screen must show (issue 6): a graded quality badge, a moving mic level
      // meter, the recovery line (the grace countdown, "—" while connected), no Reconnect button.
      try {
        await page.waitForFunction(
          () => ["excellent", "good"].includes(document.querySelector("#quality").dataset.grade) &&
            document.querySelector("#mic-level").value > 0,
          null,
          { timeout: 10_000 },
        );
      } catch (e) {
        const shown = await page.evaluate(() => ({ grade: document.querySelector("#quality").dataset.grade, micLevel: document.querySelector("#mic-level").value }));
        throw new Error(`no graded quality badge and moving mic meter within 10 s of connecting: ${JSON.stringify(shown)}`, { cause: e });
      }
      for (const id of ["#quality", "#quality-figures", "#mic-level", "#remote-level", "#recovery", "#disconnect"]) {
        assert.equal(await page.isVisible(id), true, `${id} is not visible while connected`);
      }
      assert.equal(await page.textContent("#quality"), await page.getAttribute("#quality", "data-grade"));
      assert.match(await page.textContent("#quality-figures"), /RTT \d+ ms/);
      assert.equal(await page.textContent("#recovery"), "—", "the recovery line shows something while connected");
      assert.equal(await page.isHidden("#reconnect"), true, "Reconnect shows while connected");
      // The remote audio plays: no autoplay block on a page where the user clicked Connect.
      assert.equal(await page.isHidden("#resume-audio"), true, "Enable audio shows while connected");

      await shot(page, "demo-connected");

      const session = await until(() => peerSession(sessionId), { timeoutMs: 5_000, what: `session ${sessionId} in /_dev/state` });
      assert.equal(session.state, "connected", `dev peer sees session ${sessionId} as ${session.state}`);

      // A message goes out over the data channel and the peer's answer shows in #log.
      const text = `hello from e2e ${Math.random().toString(36).slice(2, 10)}`;
      await page.fill("#message", text);
      await page.click("#send");
      try {
        await page.waitForFunction((t) => document.querySelector("#log").textContent.includes(t), text, { timeout: 10_000 });
      } catch (e) {
        throw new Error(`the echo of "${text}" never appeared in #log (it shows: ${JSON.stringify(await page.textContent("#log"))})`, { cause: e });
      }
      assert.equal(await page.inputValue("#message"), "", "the input is not cleared after sending");

      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after Disconnect");
      assert.equal(await page.textContent("#mic-label"), "Microphone off");
      assert.equal(await page.isHidden("#error"), true, `an error is shown after a clean disconnect: ${await page.textContent("#error")}`);
      await shot(page, "demo-disconnected");

      // The teardown DELETEd the session on the peer.
      await until(async () => (await peerSession(sessionId))?.state === "ended", {
        timeoutMs: 10_000,
        what: `session ${sessionId} to be "ended" in /_dev/state`,
      });

      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
    } finally {
      await page.close();
    }
  });

  test("demo page: a dropped transport shows Reconnect and the grace countdown; Reconnect brings the session back", { timeout: 120_000 }, async () => {
    const { page, pageErrors } = await openDemo();
    try {
      await page.click("#connect");
      await waitForStatus(page, "connected");
      const sessionId = (await page.textContent("#session")).trim();

      // The dev peer black-holes the session but keeps it (manual policy: the button).
      const res = await fetch(`${peerUrl}/_dev/sessions/${sessionId}/drop`, { method: "POST" });
      assert.equal(res.status, 200, `POST /_dev/sessions/${sessionId}/drop: HTTP ${res.status}`);
      await waitForStatus(page, "interrupted", 10_000);
      assert.equal(await page.isVisible("#reconnect"), true, "no Reconnect button while interrupted");
      assert.equal(await page.textContent("#quality"), "lost");
      assert.match(await page.textContent("#recovery"), /session kept \d+ s more/, "no grace countdown while interrupted");
      await shot(page, "demo-interrupted");

      await page.click("#reconnect");
      await waitForStatus(page, "connected");
      assert.equal((await page.textContent("#session")).trim(), sessionId, "Reconnect made a new session instead of restoring it");
      assert.equal(await page.isHidden("#reconnect"), true, "Reconnect still shows once connected");
      assert.equal(await page.textContent("#recovery"), "—");
      const live = await page.probe();
      assert.equal(live.captureTracks, 1, `the ICE restart captured the microphone again: ${JSON.stringify(live)}`);
      assert.equal(live.peerConnections, 1, `the ICE restart made another peer connection: ${JSON.stringify(live)}`);

      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after Disconnect");
      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
    } finally {
      await page.close();
    }
  });

  test("demo page: Mute releases the microphone, Unmute captures again, the picker switches it, offline shows a hint; one session", { timeout: 120_000 }, async () => {
    const { page, pageErrors } = await openDemo();
    try {
      assert.equal(await page.isEnabled("#microphone"), false, "the picker is enabled before connecting (no labels yet)");
      await page.click("#connect");
      await waitForStatus(page, "connected");
      const sessionId = (await page.textContent("#session")).trim();
      await muteUnmuteAndSwitch(page, sessionId, {
        whileMuted: async () => {
          assert.equal(await page.textContent("#mic-label"), "Microphone muted");
          assert.equal(await page.getAttribute("#mic", "data-on"), "false", "the mic indicator is on while muted");
        },
      });
      assert.equal(await page.textContent("#mic-label"), "Microphone on");
      await shot(page, "demo-switched");
      await offlineHint(page, sessionId);

      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after mute, unmute, a microphone switch and Disconnect");
      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
    } finally {
      await page.close();
    }
  });

  test("demo page: a failing WHIP endpoint shows the error and allows a retry", { timeout: 120_000 }, async () => {
    const whip = encodeURIComponent("/whip?fault=500");
    const { page, pageErrors } = await openDemo(`?whip=${whip}`);
    try {
      await page.click("#connect");
      await waitForStatus(page, "failed");
      await page.assertReleased("after a failed connect");

      const error = await page.textContent("#error");
      assert.equal(await page.isVisible("#error"), true, "#error is not visible after a failed connect");
      assert.match(error, /^[a-z][a-z0-9-]*: \S/, `#error should read "code: message", got ${JSON.stringify(error)}`);
      assert.equal(await page.textContent("#mic-label"), "Microphone off");
      assert.equal(await page.isEnabled("#connect"), true, "Connect is not enabled again after a failure");
      await shot(page, "demo-failed");

      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page (a rejected promise left unhandled?)");
    } finally {
      await page.close();
    }
  });

  // Found in Firefox: its AudioContext reads "suspended" until the audio output has started,
  // so "suspended" when the remote track arrives is no autoplay block. Before the fix
  // (Playback::when_started) audioBlocked stayed true — "Enable audio" showing — while the
  // audio played. Simulated here (lateAudioStart) so both browsers take that path every run.
  test("demo page: an audio output that starts late (Firefox's AudioContext reads suspended until then) leaves no Enable audio button", { timeout: 120_000 }, async () => {
    const { page, pageErrors } = await openDemo("", [lateAudioStart]);
    try {
      await page.click("#connect");
      await waitForStatus(page, "connected");
      try {
        await page.waitFor("#resume-audio", "hidden", { timeout: 5_000 });
        await page.waitForFunction(() => document.querySelector("#remote-level").value > 0, null, { timeout: 5_000 });
      } catch (e) {
        const shown = await page.evaluate(() => ({
          enableAudio: !document.querySelector("#resume-audio").hidden,
          remoteLevel: document.querySelector("#remote-level").value,
          contexts: globalThis.__voicelinkProbe.audioContexts.map((c) => c.ctx.state),
        }));
        throw new Error(`the audio plays, but the page still says it is blocked: ${JSON.stringify(shown)}`, { cause: e });
      }
      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after Disconnect");
      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
    } finally {
      await page.close();
    }
  });

  test("demo page: a microphone Web Audio cannot read (older Firefox: another sample rate) still connects and plays; only the mic meter rests", { timeout: 120_000 }, async () => {
    const { page, pageErrors } = await openDemo("", [micSourceThrows]);
    try {
      await page.click("#connect");
      await waitForStatus(page, "connected");
      await page.waitForFunction(() => document.querySelector("#remote-level").value > 0, null, { timeout: 10_000 });
      assert.equal(await page.evaluate(() => Number(document.querySelector("#mic-level").value)), 0, "a mic level without a meter");
      assert.equal(await page.isHidden("#resume-audio"), true, "Enable audio shows");
      const text = `sample-rate ${Math.random().toString(36).slice(2, 8)}`;
      await page.fill("#message", text);
      await page.click("#send");
      await page.waitForFunction((t) => document.querySelector("#log").textContent.includes(t), text, { timeout: 10_000 });
      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after Disconnect");
      assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
    } finally {
      await page.close();
    }
  });
});
