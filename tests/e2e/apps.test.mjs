// End-to-end: the example apps (examples/react, examples/vue) as an app developer gets them, in
// headless Chromium and headless Firefox against the dev peer. The browser tests run once per
// browser (VOICELINK_BROWSERS, default "chromium,firefox"; tests/e2e/browsers.mjs); every page has
// the browser-side probe (tests/probe/probe.js) installed before the app's scripts, and every exit
// (Disconnect, Vue unmount, React StrictMode's remount then Disconnect) asserts from it that no
// capture track is live and no peer connection is open.
//
// How "voicelink" reaches them: the examples are npm workspaces of this repository and each
// depends on "voicelink": "file:../..", so `npm ci` links node_modules/voicelink to the
// repository and "voicelink", "voicelink/react", "voicelink/vue" resolve through package.json's
// `exports` to pkg/, as in an installed package. Chosen over `npm pack` + installing the tarball
// into a copy because it needs no extra install step (plain `npm ci`, one lockfile, offline from
// npm's cache), and workspaces hoist react and vue so the app and the adapter share one copy.
// What a tarball would add — that the published files hold every `exports` target — is checked
// below with `npm pack --dry-run`.
//
// The apps are built here with `vite build` (bounded; their config is the framework plugin
// alone, nothing for voicelink), each dist/ served by a tiny node:http server on 127.0.0.1 (wasm
// as application/wasm), and driven by clicks. The React app is also built with NODE_ENV=development (dist-dev/): only React's
// development build double-mounts under <StrictMode>, which the StrictMode test needs.
// The WHIP endpoint is the dev peer's, passed as ?whip=.
//
//   node --test tests/e2e/apps.test.mjs     (the dev peer up: scripts/with-peer.sh; pkg/ built)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { peerUrl, peerJson, repoRoot, until } from "../../scripts/chromium.mjs";
import { eachBrowser, launch } from "./browsers.mjs";
import { muteUnmuteAndSwitch, offlineHint } from "./microphone.mjs";

const outDir = fileURLToPath(new URL("./out/", import.meta.url));
const bin = (name) => join(repoRoot, "node_modules", ".bin", name);
const BUILD_TIMEOUT_MS = 120_000;

/** Runs a command (bounded); resolves { code, stdout, output } (output: stdout + stderr). */
function run(cmd, args, { cwd = repoRoot, env = {}, timeout = BUILD_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      resolve({ code: err ? (err.killed ? `killed after ${timeout} ms` : err.code ?? 1) : 0, stdout, output });
    });
  });
}

async function viteBuild(app, outDirName, env = {}) {
  const cwd = join(repoRoot, "examples", app);
  const r = await run(bin("vite"), ["build", "--outDir", outDirName, "--emptyOutDir", "--logLevel", "warn"], { cwd, env });
  if (r.code !== 0) throw new Error(`vite build of examples/${app} failed (${r.code}):\n${r.output}`);
  return join(cwd, outDirName);
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Serves `dir` on 127.0.0.1 (random port); remembers the paths served. */
async function serve(dir) {
  const served = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    if (!file.startsWith(dir) || !existsSync(file) || !extname(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    served.push(path);
    res.writeHead(200, { "Content-Type": MIME[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, dir, served, close: () => new Promise((r) => server.close(r)) };
}

const apps = {};
before(async () => {
  const [react, reactDev, vue] = await Promise.all([
    viteBuild("react", "dist"),
    viteBuild("react", "dist-dev", { NODE_ENV: "development" }),
    viteBuild("vue", "dist"),
  ]);
  apps.react = await serve(react);
  apps.reactDev = await serve(reactDev);
  apps.vue = await serve(vue);
});
after(async () => {
  await Promise.all(Object.values(apps).map((a) => a.close()));
});

/** Runs before any page script (after the probe): records getUserMedia calls, mic tracks and peer connections. */
function spies() {
  if (!globalThis.MediaDevices) return; // about:blank (the page was left) has no media devices
  const S = (window.__spy = { gumCalls: 0, tracks: [], pcs: [], maxLive: 0 });
  const liveTracks = () => S.tracks.filter((t) => t.readyState === "live").length;
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (...args) {
    S.gumCalls++;
    const stream = await gum.apply(this, args);
    S.tracks.push(...stream.getTracks());
    // A track only turns live here, so this sees the most that were ever live at once.
    S.maxLive = Math.max(S.maxLive, liveTracks());
    return stream;
  };
  const PC = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      S.pcs.push(this);
    }
  };
  S.report = () => ({
    gumCalls: S.gumCalls,
    maxLive: S.maxLive,
    live: liveTracks(),
    tracks: S.tracks.length,
    pcs: S.pcs.map((pc) => pc.connectionState),
  });
}

const spy = (page) => page.evaluate(() => window.__spy.report());

/** What the app shows, for failure messages. */
const screen = (page) =>
  page.evaluate(() =>
    Object.fromEntries(
      ["status", "session", "quality", "error", "grace"].map((id) => [id, document.getElementById(id)?.textContent ?? null]),
    ),
  );

async function waitForStatus(page, status, timeout = 20_000) {
  try {
    await page.waitForFunction((s) => document.getElementById("status")?.textContent === s, status, { timeout });
  } catch (e) {
    throw new Error(`#status never read "${status}" within ${timeout} ms; the app shows ${JSON.stringify(await screen(page))}`, { cause: e });
  }
}

async function peerSession(id) {
  return (await peerJson("/_dev/state")).sessions.find((s) => s.id === id);
}

async function post(path) {
  const res = await fetch(peerUrl + path, { method: "POST" });
  assert.equal(res.status, 200, `POST ${path}: HTTP ${res.status} ${await res.text()}`);
}

test("the examples type-check against the package types (tsc --noEmit, strict)", { timeout: 120_000 }, async () => {
  for (const app of ["react", "vue"]) {
    const r = await run(bin("tsc"), ["--noEmit", "-p", `examples/${app}`]);
    assert.equal(r.code, 0, `tsc --noEmit -p examples/${app} failed:\n${r.output}`);
  }
});

test("the published files hold every target of package.json's exports (npm pack --dry-run)", { timeout: 60_000 }, async () => {
  const r = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--offline"]);
  assert.equal(r.code, 0, `npm pack --dry-run failed:\n${r.output}`);
  const packed = new Set(JSON.parse(r.stdout)[0].files.map((f) => f.path));
  const { exports } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const targets = Object.values(exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)));
  for (const subpath of [".", "./react", "./vue"]) assert.ok(exports[subpath]?.types, `exports["${subpath}"] has no "types"`);
  const missing = targets.map((t) => t.replace(/^\.\//, "")).filter((t) => !packed.has(t));
  assert.deepEqual(missing, [], `exports targets missing from the package (files: ${[...packed].join(", ")})`);
  assert.ok(packed.has("pkg/voicelink_bg.wasm"), "the wasm is not in the package");
});

eachBrowser((browser, browserName) => {
  /** Opens an example app with the probe and the spies. */
  async function openApp(app, query = "") {
    const page = await browser().newPage({ initScripts: [spies] });
    const problems = [];
    page.onPageError((e) => problems.push(`pageerror: ${e}`));
    page.onConsole((type, text) => {
      if (type === "error") problems.push(`console.error: ${text}`);
      if (type === "error" || process.env.E2E_VERBOSE) console.log(`  [${browserName} page ${type}] ${text}`);
    });
    const sep = query ? "&" : "?";
    await page.goto(`${apps[app].url}/${query}${sep}whip=${encodeURIComponent(`${peerUrl}/whip`)}`);
    return { page, problems };
  }

  const shot = (page, name) => {
    mkdirSync(outDir, { recursive: true });
    return page.screenshot(`${outDir}${browserName}-${name}.png`);
  };

  test("the adapters' idle snapshot (IDLE_SNAPSHOT) equals a new VoiceLink's snapshot", { timeout: 60_000 }, async () => {
    const page = await browser().newPage();
    try {
      await page.goto(`${peerUrl}/`);
      const { idle, fresh, frozen } = await page.evaluate(async () => {
        const { VoiceLink, IDLE_SNAPSHOT } = await import("/pkg/index.js");
        const link = new VoiceLink({ url: "/whip" });
        const fresh = link.getSnapshot();
        link.dispose();
        return { idle: IDLE_SNAPSHOT, fresh, frozen: Object.isFrozen(IDLE_SNAPSHOT) && Object.isFrozen(IDLE_SNAPSHOT.quality) };
      });
      assert.deepEqual(idle, fresh, "IDLE_SNAPSHOT (js/idle.js) differs from getSnapshot() of a new link");
      assert.ok(frozen, "IDLE_SNAPSHOT is not frozen");
    } finally {
      await page.close();
    }
  });

  for (const app of ["react", "vue"]) {
    test(`${app} example: Connect, the server drops the transport, Reconnect brings back the same session, Disconnect releases the mic`, { timeout: 120_000 }, async () => {
      const { page, problems } = await openApp(app);
      try {
        await page.waitFor("#connect", "enabled", { timeout: 20_000 });
        assert.equal(await page.textContent("#status"), "idle");
        assert.equal(await page.isVisible("#reconnect"), false, "Reconnect shows before any outage");
        assert.ok(apps[app].served.some((p) => /^\/assets\/.*\.wasm$/.test(p)), `the app loaded no wasm asset from dist/assets (served: ${apps[app].served.join(", ")})`);

        await page.click("#connect");
        await waitForStatus(page, "connected");
        const id = (await page.textContent("#session")).trim();
        assert.ok(id, "no session id shown while connected");
        const session = await until(() => peerSession(id), { timeoutMs: 5_000, what: `session ${id} in /_dev/state` });
        assert.equal(session.state, "connected", `the dev peer sees session ${id} as ${session.state}`);
        assert.deepEqual(await spy(page), { gumCalls: 1, maxLive: 1, live: 1, tracks: 1, pcs: ["connected"] });
        // The quality badge grades the live call, the meter follows the (fake) microphone.
        await page.waitForFunction(() => ["excellent", "good"].includes(document.getElementById("quality").dataset.grade), null, { timeout: 10_000 });
        await page.waitForFunction(() => Number(document.getElementById("mic-level").value) > 0, null, { timeout: 10_000 });
        await shot(page, `${app}-connected`);

        // Outage with the manual policy: the Reconnect button and the grace countdown appear.
        await post(`/_dev/sessions/${id}/drop`);
        try {
          await page.waitFor("#reconnect", "visible", { timeout: 10_000 });
        } catch (e) {
          throw new Error(`no Reconnect button within 10 s of the drop; the app shows ${JSON.stringify(await screen(page))}`, { cause: e });
        }
        assert.equal(await page.textContent("#status"), "interrupted");
        assert.equal(await page.textContent("#quality"), "lost");
        assert.match(await page.textContent("#grace"), /kept \d+ s more/);
        await shot(page, `${app}-interrupted`);

        await page.click("#reconnect");
        await waitForStatus(page, "connected");
        assert.equal((await page.textContent("#session")).trim(), id, "Reconnect did not bring back the same session");
        assert.equal(await page.isVisible("#reconnect"), false, "Reconnect still shows once connected");
        assert.equal(await page.isVisible("#grace"), false, "the grace countdown still shows once connected");
        const restarted = await until(async () => {
          const s = await peerSession(id);
          return s?.state === "connected" && s.iceRestarts >= 1 && s;
        }, { timeoutMs: 5_000, what: `session ${id} connected again after an ICE restart` });
        assert.equal(restarted.iceRestarts, 1);

        await page.click("#disconnect");
        // The microphone is stopped synchronously by disconnect(), so by now.
        assert.equal((await spy(page)).live, 0, "a microphone track is still live right after Disconnect");
        await waitForStatus(page, "disconnected");
        await page.assertReleased("after Disconnect");
        await until(async () => (await spy(page)).pcs.every((s) => s === "closed"), { timeoutMs: 5_000, what: "every peer connection closed" });
        await until(async () => (await peerSession(id))?.state === "ended", { timeoutMs: 10_000, what: `session ${id} ended on the dev peer` });
        assert.deepEqual(problems, [], "errors on the page");
      } finally {
        await page.close();
      }
    });
  }

  for (const app of ["react", "vue"]) {
    test(`${app} example: Mute releases the microphone, Unmute captures again, the picker switches it, offline shows a hint; one session`, { timeout: 120_000 }, async () => {
      const { page, problems } = await openApp(app);
      try {
        await page.click("#connect");
        await waitForStatus(page, "connected");
        const id = (await page.textContent("#session")).trim();
        assert.equal(await page.isHidden("#offline"), true, "the offline hint shows while online");
        await muteUnmuteAndSwitch(page, id);
        await shot(page, `${app}-switched`);
        await offlineHint(page, id);

        await page.click("#disconnect");
        await waitForStatus(page, "disconnected");
        await page.assertReleased("after mute, unmute, a microphone switch and Disconnect");
        assert.deepEqual(problems, [], "errors on the page");
      } finally {
        await page.close();
      }
    });
  }

  test("react example under <StrictMode> (development build), ?autoconnect=1: one getUserMedia, never two live mic tracks", { timeout: 120_000 }, async () => {
    const { page, problems } = await openApp("reactDev", "?autoconnect=1");
    try {
      // Only React's development build mounts, unmounts and mounts again under StrictMode.
      const js = apps.reactDev.served.filter((p) => p.endsWith(".js")).map((p) => readFileSync(join(apps.reactDev.dir, p), "utf8"));
      assert.ok(js.some((t) => t.includes("Invalid hook call")), "dist-dev/ does not hold React's development build");
      await waitForStatus(page, "connected");
      const id = (await page.textContent("#session")).trim();
      assert.equal((await peerSession(id))?.state, "connected", `the dev peer does not see session ${id} connected`);
      // Settle: a second (wrong) connect would have started by now.
      await new Promise((r) => setTimeout(r, 1_000));
      const s = await spy(page);
      assert.equal(s.gumCalls, 1, `getUserMedia called ${s.gumCalls} times (StrictMode's first mount must not connect)`);
      assert.equal(s.maxLive, 1, `${s.maxLive} microphone tracks were live at once`);
      assert.equal(s.live, 1);
      assert.deepEqual(s.pcs, ["connected"], "one peer connection, connected");
      const probe = await page.probe();
      assert.equal(probe.captureTracks, 1, `the probe saw more than one capture track: ${JSON.stringify(probe)}`);
      assert.equal(probe.peerConnections, 1, `the probe saw more than one peer connection: ${JSON.stringify(probe)}`);

      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      assert.equal((await spy(page)).live, 0, "the microphone is still live after Disconnect");
      await page.assertReleased("after StrictMode's remount and Disconnect");
      assert.deepEqual(problems, [], "errors on the page");
    } finally {
      await page.close();
    }
  });

  test("vue example: closing the assistant (unmount) ends the mic track, closes the peer connection and the session", { timeout: 120_000 }, async () => {
    const { page, problems } = await openApp("vue", "?autoconnect=1");
    try {
      await waitForStatus(page, "connected");
      const id = (await page.textContent("#session")).trim();
      assert.deepEqual(await spy(page), { gumCalls: 1, maxLive: 1, live: 1, tracks: 1, pcs: ["connected"] });

      await page.click("#toggle");
      await page.waitFor("#closed", "attached", { timeout: 5_000 });
      assert.equal(await page.exists("#status"), false, "the assistant is still mounted");
      await until(async () => (await spy(page)).live === 0, { timeoutMs: 2_000, what: "the microphone track to end after unmount" });
      await page.assertReleased("after the unmount");
      // Ended by the closed DTLS ("transport", ~10 ms after pc.close()) or the WHIP DELETE after it.
      await until(async () => (await peerSession(id))?.state === "ended", { timeoutMs: 10_000, what: `session ${id} ended on the dev peer` });

      // Opening it again makes a new link that connects (after the old one finished closing).
      await page.click("#toggle");
      await waitForStatus(page, "connected");
      const s = await spy(page);
      assert.equal(s.gumCalls, 2);
      assert.equal(s.maxLive, 1, "two microphone tracks were live at once");
      await page.click("#toggle");
      await page.waitFor("#closed", "attached", { timeout: 5_000 });
      await page.assertReleased("after the second unmount");
      assert.deepEqual(problems, [], "errors on the page");
    } finally {
      await page.close();
    }
  });

  // Autoplay as users have it: the browser's own policy, not the test setting that lets every
  // page play. Nothing on the page may give it a user activation before the link has its
  // AudioContext — the drivers' evaluate() calls do (playwright passes userGesture, puppeteer
  // userActivation) — so the test waits on the dev peer, not the page, until the call is up.
  // Measured here without capture: Chromium keeps a gesture-less AudioContext "suspended",
  // Firefox 153 ESR (default prefs) lets it run. voicelink
  // makes its context after getUserMedia has resolved, and both browsers let a page that is
  // capturing the microphone play: no "Enable audio" in either.
  test("react example, browser's default autoplay policy, ?autoconnect=1 with no user gesture: the echo reaches the speakers", { timeout: 120_000 }, async () => {
    const own = await launch(browserName, { autoplay: "default" });
    try {
      const page = await own.newPage({ initScripts: [spies] });
      const before = new Set((await peerJson("/_dev/state")).sessions.map((s) => s.id));
      await page.goto(`${apps.react.url}/?autoconnect=1&whip=${encodeURIComponent(`${peerUrl}/whip`)}`);
      const session = await until(async () => (await peerJson("/_dev/state")).sessions.find((s) => !before.has(s.id) && s.state === "connected"), {
        timeoutMs: 20_000,
        what: "the page's session connected on the dev peer",
      });
      await waitForStatus(page, "connected");
      assert.equal((await page.textContent("#session")).trim(), session.id);
      const heard = await until(async () => {
        const d = await page.evaluate(() => globalThis.__voicelinkProbe.destination(-1));
        return d && d.state === "running" && d.maxPeak > 0.01 && d;
      }, { timeoutMs: 5_000, what: "the echo at the AudioContext's destination" }).catch(async (e) => {
        const d = await page.evaluate(() => globalThis.__voicelinkProbe.destination(-1));
        throw new Error(`${e.message}; destination: ${JSON.stringify(d && { state: d.state, maxPeak: d.maxPeak, quanta: d.quanta.length })}`);
      });
      assert.ok(heard.quanta.length > 0);
      assert.equal(await page.exists("#resume-audio"), false, "Enable audio shows: the autoplay policy blocked the call's audio");
      await page.click("#disconnect");
      await waitForStatus(page, "disconnected");
      await page.assertReleased("after Disconnect");
      await page.close();
    } finally {
      await own.close();
    }
  });

  // A real pagehide: the page navigates away while connected. Firefox has no `freeze` event;
  // `pagehide` is the exit both browsers fire. The session's transport is black-holed first, so
  // the only way the dev peer can learn of the end is the WHIP DELETE, sent with `keepalive`
  // (cross-origin: the app's origin is not the peer's, so the DELETE is preflighted) — it
  // must outlive the page. The probe cannot be asked once its page is gone; the browser
  // releases a document's capture tracks and peer connections with it.
  test("vue example: leaving the page while connected DELETEs the session (keepalive, cross-origin)", { timeout: 120_000 }, async () => {
    const { page, problems } = await openApp("vue", "?autoconnect=1");
    try {
      await waitForStatus(page, "connected");
      const id = (await page.textContent("#session")).trim();
      await post(`/_dev/sessions/${id}/drop`);
      await page.goto("about:blank");
      const ended = await until(async () => {
        const s = await peerSession(id);
        return s?.state === "ended" && s;
      }, { timeoutMs: 10_000, what: `session ${id} ended on the dev peer after the page was left` });
      assert.equal(ended.endedBy, "delete", `session ${id} ended by ${ended.endedBy}, not by the page's keepalive DELETE`);
      assert.deepEqual(problems, [], "errors on the page");
    } finally {
      await page.close();
    }
  });
});
