// Server-side rendering (issue 17): voicelink imported on a server (plain Node, Next.js, Vue's
// server renderer) never throws, renders the idle snapshot, and hydrates without a mismatch.
//
//   - plain Node: `import("voicelink")`, "voicelink/react", "voicelink/vue" (the package's own
//     exports map); `new VoiceLink()` there throws VoiceLinkError "unsupported"; IDLE_SNAPSHOT is,
//     key by key, what a never-connected link's getSnapshot() gives (the wasm instantiated in Node
//     from its bytes, which the package itself never does on a server);
//   - React: react-dom/server renderToString of a component on useVoiceLink;
//   - Vue: vue/server-renderer of the Vue example's app (Vite SSR build of src/entry-server.ts),
//     then that HTML hydrated in each browser (createSSRApp) with no hydration mismatch;
//   - Next.js: examples/next built with `next build` and served by `next start` on 127.0.0.1,
//     the page fetched as HTML (server-rendered "idle"), then in each browser with the
//     browser-side probe: hydrates with no hydration warning, connects to the dev peer, hears the
//     echo at the speakers (the probe's destination tap), disconnects with the microphone released.
//
// The server-only tests run once; the browser-side tests run once per browser (Chromium and
// Firefox; VOICELINK_BROWSERS narrows it, tests/e2e/browsers.mjs). The builds (Vite SSR + client,
// `next build`) and `next start` happen once per file run, whichever browser asks first.
//
//   node --test tests/e2e/ssr.test.mjs     (dev peer up: scripts/with-peer.sh; pkg/ built;
//                                           Firefox: scripts/with-pulse.sh)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, extname, normalize } from "node:path";
import { peerUrl, repoRoot, until } from "../../scripts/chromium.mjs";
import { eachBrowser, launch } from "./browsers.mjs";

const bin = (name) => join(repoRoot, "node_modules", ".bin", name);
const BUILD_TIMEOUT_MS = 240_000;
const NEXT_PORT = Number(process.env.VOICELINK_NEXT_PORT || 7891);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed (${err.killed ? "timed out" : err.code}):\n${stdout}${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** Hydration problems React and Vue report on the console. Production React (the Next build)
 * reports them by number only: #418 (HTML did not match), #419, #421, #422, #423 (error while
 * hydrating), #425 (text did not match) — https://react.dev/errors. */
const HYDRATION = /hydrat|did not match|mismatch|Minified React error #(418|419|421|422|423|425)\b/i;

// The servers the browser tests share: started once (memoised promises), stopped at the end.
let vueServer;
let next;
after(async () => {
  vueServer?.close();
  if (next && next.exitCode === null) {
    next.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    if (next.exitCode === null) next.kill("SIGKILL");
  }
});

/**
 * Once per file run: the Vue example's SSR and client builds, its app server-rendered (asserted
 * idle) into the client build's index.html, served on 127.0.0.1. Resolves the page's URL.
 */
let vueApp;
function serveVueApp() {
  vueApp ??= (async () => {
    const cwd = join(repoRoot, "examples", "vue");
    // Own output folders (dist-ssr/): apps.test.mjs builds dist/ at the same time.
    await run(bin("vite"), ["build", "--ssr", "src/entry-server.ts", "--outDir", "dist-ssr/server", "--emptyOutDir", "--logLevel", "warn"], cwd);
    await run(bin("vite"), ["build", "--outDir", "dist-ssr/client", "--emptyOutDir", "--logLevel", "warn"], cwd);
    const whip = `${peerUrl}/whip`;
    const { render } = await import(join(cwd, "dist-ssr", "server", "entry-server.js"));
    const appHtml = await render(whip);
    assert.match(appHtml, /id="status"[^>]*>idle</, "server-rendered idle");

    // The client build's index.html with the server's HTML in #app: main.ts hydrates it.
    const dist = join(cwd, "dist-ssr", "client");
    const page = readFileSync(join(dist, "index.html"), "utf8").replace('<div id="app"></div>', `<div id="app">${appHtml}</div>`);
    assert.ok(page.includes(appHtml), "index.html has an empty #app to fill");
    vueServer = createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      if (path === "/" || path === "/index.html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
        return;
      }
      const file = normalize(join(dist, path));
      if (!file.startsWith(dist)) return res.writeHead(403).end();
      try {
        const type = { ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" }[extname(file)] || "application/octet-stream";
        res.writeHead(200, { "content-type": type }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((r) => vueServer.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${vueServer.address().port}/?whip=${encodeURIComponent(whip)}`;
  })();
  return vueApp;
}

/**
 * Once per file run: examples/next built with `next build` and served by `next start`; its page
 * fetched as HTML (asserted server-rendered idle). Resolves the page's URL.
 */
let nextApp;
function serveNextApp() {
  nextApp ??= (async () => {
    const cwd = join(repoRoot, "examples", "next");
    await run(bin("next"), ["build"], cwd);
    next = spawn(bin("next"), ["start", "-H", "127.0.0.1", "-p", String(NEXT_PORT)], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    next.stdout.on("data", (d) => (log += d));
    next.stderr.on("data", (d) => (log += d));
    const base = `http://127.0.0.1:${NEXT_PORT}`;
    const whip = `${peerUrl}/whip`;
    const url = `${base}/?whip=${encodeURIComponent(whip)}`;
    const html = await until(
      async () => {
        const r = await fetch(url);
        return r.ok ? r.text() : false;
      },
      { timeoutMs: 30_000, what: `next start answering on ${base} (log: ${log})` },
    );
    assert.match(html, /id="status"[^>]*>idle</, "the page arrives server-rendered, idle");
    return url;
  })();
  return nextApp;
}

test("plain Node: every entry imports; VoiceLink throws unsupported; IDLE_SNAPSHOT is a never-connected link's snapshot", async () => {
  const voicelink = await import("voicelink");
  await import("voicelink/react");
  await import("voicelink/vue");
  assert.throws(
    () => new voicelink.VoiceLink({ url: "https://example.com/whip" }),
    (e) => e instanceof voicelink.VoiceLinkError && e.name === "VoiceLinkError" && e.code === "unsupported" && /browser/.test(e.message),
  );
  // The same wasm the browser runs, instantiated from its bytes here only to compare.
  const wasm = await import(join(repoRoot, "pkg", "voicelink.js"));
  await wasm.default({ module_or_path: readFileSync(join(repoRoot, "pkg", "voicelink_bg.wasm")) });
  const link = new wasm.VoiceLink({ url: "https://example.com/whip" });
  const real = link.getSnapshot();
  link.free();
  assert.deepStrictEqual(Object.keys(voicelink.IDLE_SNAPSHOT), Object.keys(real), "the same keys, in the same order");
  assert.deepStrictEqual({ ...voicelink.IDLE_SNAPSHOT }, { ...real }, "the same values");
  assert.ok(Object.isFrozen(voicelink.IDLE_SNAPSHOT) && Object.isFrozen(voicelink.IDLE_SNAPSHOT.quality));
});

test("React on a server: renderToString of useVoiceLink renders the idle snapshot", async () => {
  const { createElement: h } = await import("react");
  const { renderToString } = await import("react-dom/server");
  const { useVoiceLink } = await import("voicelink/react");
  function Assistant() {
    const { snapshot, link } = useVoiceLink({ url: "https://example.com/whip" });
    return h("p", { id: "status", "data-link": String(link) }, `${snapshot.status}/${snapshot.quality.grade}`);
  }
  const html = renderToString(h(Assistant));
  assert.match(html, /idle\/unknown/);
  assert.match(html, /data-link="null"/, "no link on the server");
});

eachBrowser((browser, browserName) => {
  /** A new page (the probe installed) that collects console errors and warnings and page errors. */
  async function openPage() {
    const page = await browser().newPage();
    const problems = [];
    page.onConsole((type, text) => (type === "error" || type === "warning") && problems.push(text));
    page.onPageError((e) => problems.push(String(e)));
    return { page, problems };
  }

  test("in a browser, thrown and rejected errors are instances of the exported VoiceLinkError", async () => {
    const page = await browser().newPage();
    try {
      await page.goto(`${peerUrl}/`); // the demo page's origin serves /pkg/
      const got = await page.evaluate(async () => {
        const { VoiceLink, VoiceLinkError } = await import("/pkg/index.js");
        const seen = [];
        try {
          new VoiceLink({ url: "https://example.com/whip", nope: 1 });
        } catch (e) {
          seen.push([e instanceof VoiceLinkError, e.code]);
        }
        const link = new VoiceLink({ url: "http://127.0.0.1:9/whip" });
        try {
          link.on("nope", () => {});
        } catch (e) {
          seen.push([e instanceof VoiceLinkError, e.code]);
        }
        await link.connect().catch((e) => seen.push([e instanceof VoiceLinkError, e.code]));
        link.dispose();
        return seen;
      });
      assert.deepEqual(got, [[true, "invalid-option"], [true, "invalid-argument"], [true, "signaling-network"]]);
    } finally {
      await page.close();
    }
  });

  test(`Vue on a server: the example app server-renders idle and hydrates in ${browserName} without a mismatch`, { timeout: BUILD_TIMEOUT_MS * 3 }, async () => {
    const url = await serveVueApp();
    const { page, problems } = await openPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector("#app").__vue_app__ !== undefined, null, { timeout: 20_000 });
      await connectEchoDisconnect(page, `${browserName}, vue`);
      assert.deepEqual(problems.filter((p) => HYDRATION.test(p)), [], "no hydration warning");
    } finally {
      await page.close();
    }
  });

  test("Next.js App Router: server-rendered idle, hydrated without a warning, connect, echo, disconnect", { timeout: BUILD_TIMEOUT_MS * 3 }, async () => {
    const url = await serveNextApp();
    const { page, problems } = await openPage();
    try {
      await page.goto(url);
      await connectEchoDisconnect(page, `${browserName}, next`);
      assert.deepEqual(problems.filter((p) => HYDRATION.test(p)), [], "no hydration warning");
      assert.deepEqual(problems, [], "no console error or warning at all");
    } finally {
      await page.close();
    }
  });
});

/** Connect (after hydration: Connect is enabled once the link exists), hear the echo, disconnect;
 * judged from the browser-side probe. `page` is a tests/e2e/browsers.mjs Page. */
async function connectEchoDisconnect(page, what) {
  await page.waitForFunction(() => !document.querySelector("#connect").disabled, null, { timeout: 20_000 });
  assert.equal(await page.textContent("#status"), "idle");
  await page.click("#connect");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "connected", null, { timeout: 20_000 });
  // The dev peer echoes the fake microphone: it reaches the speakers (the probe's tap).
  await until(() => page.evaluate(() => (globalThis.__voicelinkProbe.destination(-1)?.maxPeak ?? 0) > 0.01), {
    timeoutMs: 10_000,
    what: `${what}: the echo reaching the destination`,
  });
  await page.click("#disconnect");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "disconnected", null, { timeout: 10_000 });
  const left = await until(
    async () => {
      const s = await page.probe();
      return s.liveCaptureTracks === 0 && s.openPeerConnections === 0 && s.activeMediaElements === 0 ? s : false;
    },
    { timeoutMs: 3_000, what: `${what}: microphone and peer connection released` },
  );
  assert.equal(left.captureTracks, 1, `${what}: one capture track in all`);
}
