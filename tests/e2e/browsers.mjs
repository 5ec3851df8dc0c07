// The browsers the e2e tests run in, behind one small page API, so each test body runs once per
// browser: Chromium through playwright-core (scripts/chromium.mjs), Firefox through puppeteer-core
// over WebDriver BiDi (scripts/firefox.mjs; playwright-core cannot drive stock Firefox).
//
//   VOICELINK_BROWSERS=chromium,firefox   (default: both; a comma list narrows a local run)
//
// The page API is what the tests use and no more: goto, click, fill, select, evaluate,
// waitForFunction, waitFor(selector, "visible" | "hidden" | "enabled" | "attached"), textContent,
// isVisible, isEnabled, getAttribute, inputValue, exists, screenshot, onConsole (type, text; the
// type as playwright names it: "warning" for console.warn in both), onPageError, close. Every
// query is answered inside the page by the same code for both browsers (visible = a non-empty box
// and no `visibility: hidden`, playwright's definition), so a test reads the same in both. Clicks,
// typing and choosing an option are the drivers' own (real input events). Every page gets the
// browser-side probe (tests/probe/probe.js) as its first init script, before any page script
// runs.
import assert from "node:assert/strict";
import { describe, before, after } from "node:test";
import { probeInitScript } from "../../scripts/probe.mjs";

export const ALL_BROWSERS = ["chromium", "firefox"];

/** The browsers to run in: VOICELINK_BROWSERS (comma list), default both. */
export function browserNames() {
  const raw = (process.env.VOICELINK_BROWSERS || ALL_BROWSERS.join(",")).split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = raw.filter((b) => !ALL_BROWSERS.includes(b));
  if (unknown.length) throw new Error(`VOICELINK_BROWSERS: unknown browser(s) ${unknown.join(", ")} (known: ${ALL_BROWSERS.join(", ")})`);
  return [...new Set(raw)];
}

/**
 * One `describe(browserName)` per browser of browserNames(): the browser is launched before its
 * tests (when `when()` says so; default always) and closed after them. `body(browser, name)`
 * declares the tests; `browser()` is the launched driver (undefined before, or when skipped).
 */
export function eachBrowser(body, { when = () => true } = {}) {
  for (const name of browserNames()) {
    describe(name, () => {
      let browser;
      before(async () => {
        if (!when()) return;
        browser = await launch(name);
        console.log(`# ${name} ${browser.version}`);
      });
      after(async () => {
        await browser?.close();
      });
      body(() => browser, name);
    });
  }
}

const asScript = (s) => (typeof s === "function" ? `(${s})();` : String(s));

/**
 * The one in-page check behind waitFor() and isVisible(): is `sel` in `state`? Visible = a
 * non-empty box and no `visibility: hidden` (playwright's definition).
 */
function selectorIs({ sel, state }) {
  const el = document.querySelector(sel);
  let visible = false;
  if (el && el.isConnected) {
    const r = el.getBoundingClientRect();
    visible = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  }
  if (state === "visible") return visible;
  if (state === "hidden") return !visible;
  if (state === "enabled") return visible && !el.disabled;
  if (state === "attached") return !!el;
  throw new Error(`unknown state ${state}`);
}

/**
 * Launches `name` ("chromium" | "firefox"); resolves a driver with newPage() and close().
 * `autoplay: "default"` drops the test setting that lets pages play without a user gesture
 * (Chromium's --autoplay-policy flag, Firefox's media.autoplay.* prefs): the browser's own policy,
 * as users have it.
 */
export async function launch(name, { autoplay = "allowed" } = {}) {
  if (name === "chromium") {
    const { launchChromium, chromeOptions } = await import("../../scripts/chromium.mjs");
    const extra = {};
    if (autoplay === "default") extra.args = chromeOptions().args.filter((a) => !a.startsWith("--autoplay-policy"));
    const browser = await launchChromium(extra);
    return {
      name,
      version: browser.version(),
      async newPage({ initScripts = [] } = {}) {
        const context = await browser.newContext();
        for (const s of [probeInitScript, ...initScripts]) await context.addInitScript(asScript(s));
        const page = await context.newPage();
        return new Page(name, {
          raw: page,
          goto: (url) => page.goto(url),
          click: (sel) => page.click(sel),
          type: (sel, text) => page.fill(sel, text),
          select: (sel, value) => page.selectOption(sel, value),
          evaluate: (fn, arg) => page.evaluate(fn, arg),
          waitForFunction: (fn, arg, timeout) => page.waitForFunction(fn, arg, { timeout }),
          screenshot: (path) => page.screenshot({ path, fullPage: true }),
          onConsole: (cb) => page.on("console", (m) => cb(m.type(), m.text())),
          onPageError: (cb) => page.on("pageerror", cb),
          close: () => context.close(),
        });
      },
      close: () => browser.close(),
    };
  }
  if (name === "firefox") {
    const { launchFirefox, firefoxOptions } = await import("../../scripts/firefox.mjs");
    const extra = {};
    if (autoplay === "default") {
      extra.extraPrefsFirefox = Object.fromEntries(Object.entries(firefoxOptions().prefs).filter(([k]) => !k.startsWith("media.autoplay.")));
    }
    const browser = await launchFirefox(extra);
    return {
      name,
      version: (await browser.version()).replace(/^firefox\//i, ""),
      async newPage({ initScripts = [] } = {}) {
        const context = await browser.createBrowserContext();
        const page = await context.newPage();
        for (const s of [probeInitScript, ...initScripts]) await page.evaluateOnNewDocument(asScript(s));
        return new Page(name, {
          raw: page,
          goto: (url) => page.goto(url, { waitUntil: "load" }),
          click: (sel) => page.click(sel),
          type: async (sel, text) => {
            await page.$eval(sel, (el) => {
              el.value = "";
            });
            await page.type(sel, text);
          },
          select: (sel, value) => page.select(sel, value),
          evaluate: (fn, arg) => page.evaluate(fn, arg),
          waitForFunction: (fn, arg, timeout) => page.waitForFunction(fn, { timeout, polling: 50 }, arg),
          screenshot: (path) => page.screenshot({ path, fullPage: true }),
          // puppeteer names a console.warn "warn"; playwright (and this API) "warning".
          onConsole: (cb) => page.on("console", (m) => cb(m.type() === "warn" ? "warning" : m.type(), m.text())),
          onPageError: (cb) => page.on("pageerror", cb),
          close: () => context.close(),
        });
      },
      close: () => browser.close(),
    };
  }
  throw new Error(`unknown browser ${name}`);
}

/** A page in either browser, with the same API. */
export class Page {
  constructor(browser, impl) {
    this.browser = browser;
    this.impl = impl;
    /** The driver's own page object (playwright or puppeteer), for what this API lacks. */
    this.raw = impl.raw;
  }
  goto(url) {
    return this.impl.goto(url);
  }
  evaluate(fn, arg) {
    return this.impl.evaluate(fn, arg);
  }
  /** Waits until `fn(arg)` is truthy in the page (bounded by `timeout` ms). */
  waitForFunction(fn, arg, { timeout = 10_000 } = {}) {
    return this.impl.waitForFunction(fn, arg, timeout);
  }
  /** Waits until `sel` is "visible", "hidden" (absent or not visible), "enabled" (visible, not disabled) or "attached". */
  async waitFor(sel, state = "visible", { timeout = 10_000 } = {}) {
    try {
      await this.impl.waitForFunction(selectorIs, { sel, state }, timeout);
    } catch (e) {
      throw new Error(`${this.browser}: ${sel} not ${state} within ${timeout} ms`, { cause: e });
    }
  }
  /** Clicks `sel` with the driver's real input, once it is visible and enabled. */
  async click(sel) {
    await this.waitFor(sel, "enabled");
    await this.impl.click(sel);
  }
  /** Replaces the value of the input `sel` with `text` (typed / filled by the driver). */
  async fill(sel, text) {
    await this.waitFor(sel, "enabled");
    await this.impl.type(sel, text);
  }
  /** Chooses the option of value `value` in the <select> `sel` (the driver's own: `input` and
   * `change` fire as for a person's choice). */
  async select(sel, value) {
    await this.waitFor(sel, "enabled");
    await this.impl.select(sel, value);
  }
  textContent(sel) {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, sel);
  }
  isVisible(sel) {
    return this.evaluate(selectorIs, { sel, state: "visible" });
  }
  async isHidden(sel) {
    return !(await this.isVisible(sel));
  }
  isEnabled(sel) {
    return this.evaluate((s) => {
      const el = document.querySelector(s);
      return !!el && !el.disabled;
    }, sel);
  }
  getAttribute(sel, name) {
    return this.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [sel, name]);
  }
  inputValue(sel) {
    return this.evaluate((s) => document.querySelector(s)?.value ?? null, sel);
  }
  exists(sel) {
    return this.evaluate((s) => document.querySelector(s) !== null, sel);
  }
  screenshot(path) {
    return this.impl.screenshot(path);
  }
  onConsole(cb) {
    this.impl.onConsole(cb);
  }
  onPageError(cb) {
    this.impl.onPageError(cb);
  }
  close() {
    return this.impl.close();
  }

  /** The probe's count of what the browser holds (tests/probe/probe.js `summary()`). */
  probe() {
    return this.evaluate(() => globalThis.__voicelinkProbe.summary());
  }

  /**
   * Asserts, polling up to `ms` (a closed peer connection turns "closed" a few ms after
   * close()), that no capture track is live and no peer connection is open in the page.
   */
  async assertReleased(what, ms = 2_000) {
    const deadline = Date.now() + ms;
    let s;
    for (;;) {
      s = await this.probe();
      if (s.liveCaptureTracks === 0 && s.openPeerConnections === 0) return s;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${this.browser}, ${what}: still held after ${ms} ms: ${JSON.stringify(s)}`);
  }
}
