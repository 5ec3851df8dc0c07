// End-to-end: the demo page (www/index.html) in headless Chromium, talking to
// the dev peer, driven like a person would: click, type, read the screen.
//
//   node --test tests/e2e/          (scripts/test.sh runs it with the peer up)
//   VOICELINK_PEER_URL=http://127.0.0.1:7878 (default) names the dev peer.
// Screenshots go to tests/e2e/out/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium, peerUrl, peerJson, until } from "../../scripts/chromium.mjs";

const outDir = fileURLToPath(new URL("./out/", import.meta.url));

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Opens the demo page in a fresh context; resolves once the wasm is up (Connect enabled). */
async function openDemo(query = "") {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e));
  page.on("console", (msg) => {
    if (msg.type() === "error" || process.env.E2E_VERBOSE) console.log(`  [page ${msg.type()}] ${msg.text()}`);
  });
  await page.goto(`${peerUrl}/${query}`);
  await page.waitForFunction(
    () => !document.querySelector("#connect").disabled || !document.querySelector("#error").hidden,
    null,
    { timeout: 20_000 },
  );
  assert.equal(await page.textContent("#error"), "", "the page shows an error right after loading");
  return { context, page, pageErrors };
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

async function peerSession(id) {
  const state = await peerJson("/_dev/state");
  return state.sessions.find((s) => s.id === id);
}

test("demo page: connect, echo a data-channel message, disconnect", { timeout: 120_000 }, async () => {
  const { context, page, pageErrors } = await openDemo();
  try {
    assert.equal(await page.textContent("#status"), "idle");
    assert.equal(await page.textContent("#mic-label"), "Microphone off");

    await page.click("#connect");
    await waitForStatus(page, "connected");

    const sessionId = (await page.textContent("#session")).trim();
    assert.ok(sessionId, "#session shows no session id while connected");
    assert.equal(await page.textContent("#mic-label"), "Microphone on");
    assert.equal(await page.isHidden("#error"), true, "an error is shown while connected");

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

    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: `${outDir}demo-connected.png`, fullPage: true });

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
    assert.equal(await page.textContent("#mic-label"), "Microphone off");
    assert.equal(await page.isHidden("#error"), true, `an error is shown after a clean disconnect: ${await page.textContent("#error")}`);
    await page.screenshot({ path: `${outDir}demo-disconnected.png`, fullPage: true });

    // The teardown DELETEd the session on the peer.
    await until(async () => (await peerSession(sessionId))?.state === "ended", {
      timeoutMs: 10_000,
      what: `session ${sessionId} to be "ended" in /_dev/state`,
    });

    assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
  } finally {
    await context.close();
  }
});

test("demo page: a dropped transport shows Reconnect and the grace countdown; Reconnect brings the session back", { timeout: 120_000 }, async () => {
  const { context, page, pageErrors } = await openDemo();
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
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: `${outDir}demo-interrupted.png`, fullPage: true });

    await page.click("#reconnect");
    await waitForStatus(page, "connected");
    assert.equal((await page.textContent("#session")).trim(), sessionId, "Reconnect made a new session instead of restoring it");
    assert.equal(await page.isHidden("#reconnect"), true, "Reconnect still shows once connected");
    assert.equal(await page.textContent("#recovery"), "—");

    await page.click("#disconnect");
    await waitForStatus(page, "disconnected");
    assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page");
  } finally {
    await context.close();
  }
});

test("demo page: a failing WHIP endpoint shows the error and allows a retry", { timeout: 120_000 }, async () => {
  const whip = encodeURIComponent("/whip?fault=500");
  const { context, page, pageErrors } = await openDemo(`?whip=${whip}`);
  try {
    await page.click("#connect");
    await waitForStatus(page, "failed");

    const error = await page.textContent("#error");
    assert.equal(await page.isVisible("#error"), true, "#error is not visible after a failed connect");
    assert.match(error, /^[a-z][a-z0-9-]*: \S/, `#error should read "code: message", got ${JSON.stringify(error)}`);
    assert.equal(await page.textContent("#mic-label"), "Microphone off");
    assert.equal(await page.isEnabled("#connect"), true, "Connect is not enabled again after a failure");
    await page.screenshot({ path: `${outDir}demo-failed.png`, fullPage: true });

    assert.deepEqual(pageErrors.map(String), [], "uncaught errors on the page (a rejected promise left unhandled?)");
  } finally {
    await context.close();
  }
});
