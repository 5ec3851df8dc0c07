// Launches Debian's Firefox ESR through puppeteer-core (WebDriver BiDi) with exactly the prefs
// the wasm-bindgen tests use: webdriver.json (moz:firefoxOptions) is the one list of Firefox
// settings in this repository, as goog:chromeOptions is for Chromium (scripts/chromium.mjs).
// Shared by tests/e2e (and usable by bench/).
//
// Why puppeteer-core: playwright-core can only drive Playwright's own patched Firefox build,
// which cannot be fetched here; puppeteer-core drives stock Firefox over WebDriver BiDi (no
// geckodriver in between), with the same page API shape (goto, evaluate, click, screenshot,
// evaluateOnNewDocument for init scripts). Pinned to 24.x: 25.x needs Node >= 22.12, this
// repository supports Node 20.
//
// Firefox's Web Audio needs a sound server: scripts/with-pulse.sh (run by scripts/test-browser.sh)
// starts PulseAudio with a null sink and exports its runtime directory as VOICELINK_PULSE_DIR;
// Firefox is started with XDG_RUNTIME_DIR set to it (Chromium is not). Without a sound server an
// AudioContext stays "suspended", resume() never settles and every level reads 0.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

/** `moz:firefoxOptions` from webdriver.json: { binary, args, prefs }. */
export function firefoxOptions() {
  const file = new URL("../webdriver.json", import.meta.url);
  const json = JSON.parse(readFileSync(file, "utf8"));
  const opts = json["moz:firefoxOptions"];
  if (!opts || typeof opts.prefs !== "object" || opts.prefs === null) {
    throw new Error(`${fileURLToPath(file)}: no "moz:firefoxOptions".prefs object`);
  }
  return { binary: opts.binary || "/usr/bin/firefox-esr", args: [...(opts.args || [])], prefs: { ...opts.prefs } };
}

/** The environment Firefox runs with: XDG_RUNTIME_DIR of scripts/with-pulse.sh's server, if any. */
export function firefoxEnv() {
  const env = { ...process.env };
  if (process.env.VOICELINK_PULSE_DIR) env.XDG_RUNTIME_DIR = process.env.VOICELINK_PULSE_DIR;
  else if (!warned) {
    warned = true;
    console.warn("firefox.mjs: VOICELINK_PULSE_DIR is not set (run under scripts/with-pulse.sh): without a sound server Firefox's Web Audio stays suspended");
  }
  return env;
}
let warned = false;

/**
 * Launches headless Firefox with webdriver.json's prefs (wasm-bindgen-test-runner adds
 * `-headless` itself; puppeteer's `headless: true` adds `--headless`). Resolves a puppeteer
 * `Browser`.
 */
export async function launchFirefox(extra = {}) {
  const { binary, args, prefs } = firefoxOptions();
  return puppeteer.launch({
    browser: "firefox",
    executablePath: binary,
    headless: true,
    args: args.filter((a) => a !== "-headless" && a !== "--headless"),
    extraPrefsFirefox: prefs,
    env: firefoxEnv(),
    timeout: 60_000,
    protocolTimeout: 60_000,
    ...extra,
  });
}
