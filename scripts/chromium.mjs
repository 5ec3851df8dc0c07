// Launches Debian's Chromium through playwright-core with exactly the flags
// the wasm-bindgen tests use: webdriver.json (goog:chromeOptions) is the one
// list of Chromium flags in this repository. Shared by tests/e2e and bench/.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The peer the tests and benches talk to (scripts/with-peer.sh sets it). */
export const peerUrl = (process.env.VOICELINK_PEER_URL || "http://127.0.0.1:7878").replace(/\/+$/, "");

/** `goog:chromeOptions` from webdriver.json: { binary, args }. */
export function chromeOptions() {
  const file = new URL("../webdriver.json", import.meta.url);
  const json = JSON.parse(readFileSync(file, "utf8"));
  const opts = json["goog:chromeOptions"];
  if (!opts || !Array.isArray(opts.args)) {
    throw new Error(`${fileURLToPath(file)}: no "goog:chromeOptions".args array`);
  }
  return { binary: opts.binary || "/usr/bin/chromium", args: [...opts.args] };
}

/**
 * Launches Chromium. Headless mode comes from the flags (`--headless=new`,
 * added when webdriver.json has no --headless flag), not from playwright's
 * `headless` option, which would add flags of its own (--mute-audio, …) that
 * the wasm tests do not have.
 */
export async function launchChromium(extra = {}) {
  const { binary, args } = chromeOptions();
  if (!args.some((a) => a === "--headless" || a.startsWith("--headless="))) {
    args.push("--headless=new");
  }
  return chromium.launch({
    executablePath: binary,
    headless: false,
    args,
    timeout: 30_000,
    ...extra,
  });
}

/** GET a JSON document from the dev peer (e.g. "/_dev/state"). */
export async function peerJson(path) {
  const res = await fetch(peerUrl + path);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function until(fn, { timeoutMs = 10_000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
