// Small helpers shared by the benchmarks.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const resultsFile = fileURLToPath(new URL("./results.json", import.meta.url));

/** Linear-interpolated percentile (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = ((s.length - 1) * p) / 100;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

/** { n, min, p50, p90, max, mean } of a list of numbers. */
export function summary(values) {
  return {
    n: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

export const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Merges `figures` (flat { key: number }) into bench/results.json, keys sorted; `retired`
 * keys (ones a bench no longer writes because a new key replaced them) are removed. */
export function mergeResults(figures, retired = []) {
  let old = {};
  if (existsSync(resultsFile)) {
    try {
      old = JSON.parse(readFileSync(resultsFile, "utf8"));
    } catch (e) {
      console.warn(`bench: ${resultsFile} is not valid JSON (${e.message}); starting afresh`);
    }
  }
  const merged = { ...old, ...figures };
  for (const k of retired) if (!(k in figures)) delete merged[k];
  for (const [k, v] of Object.entries(merged)) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`bench result ${k} is not a finite number: ${v}`);
  }
  const sorted = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
  writeFileSync(resultsFile, JSON.stringify(sorted, null, 2) + "\n");
  return sorted;
}

/** The browsers the browser benches run in: VOICELINK_BROWSERS (comma list of "chromium",
 * "firefox"), default both, Chromium first — as the e2e tests (tests/e2e/browsers.mjs). */
export const ALL_BROWSERS = ["chromium", "firefox"];
export function benchBrowsers() {
  const raw = (process.env.VOICELINK_BROWSERS || ALL_BROWSERS.join(",")).split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = raw.filter((b) => !ALL_BROWSERS.includes(b));
  if (unknown.length) throw new Error(`VOICELINK_BROWSERS: unknown browser(s) ${unknown.join(", ")} (known: ${ALL_BROWSERS.join(", ")})`);
  if (raw.length === 0) throw new Error("VOICELINK_BROWSERS names no browser");
  return ALL_BROWSERS.filter((b) => raw.includes(b));
}

/** The suffix of a browser's result keys: none for Chromium (the keys as they always were),
 * ".firefox" for Firefox. */
export const keySuffix = (browserName) => (browserName === "chromium" ? "" : `.${browserName}`);

/** `figures` with every key suffixed for `browserName` (keySuffix). */
export const suffixed = (figures, browserName) => Object.fromEntries(Object.entries(figures).map(([k, v]) => [k + keySuffix(browserName), v]));

/**
 * Runs `part(browserName)` (→ figures, keys unsuffixed) for each of benchBrowsers() in turn,
 * Chromium first, and returns every figure with its key suffixed. A browser whose part fails
 * does not stop the next one; at the end the first failure is thrown with the figures of the
 * parts that succeeded attached as `error.figures` (bench/run.mjs stores those).
 */
export async function perBrowser(part) {
  const figures = {};
  const errors = [];
  for (const b of benchBrowsers()) {
    console.log(`  --- ${b}`);
    try {
      Object.assign(figures, suffixed(await part(b), b));
    } catch (e) {
      console.error(`  ${b}: FAILED: ${e.stack || e}`);
      errors.push(new Error(`${b}: ${e.message || e}`, { cause: e }));
    }
  }
  if (errors.length) {
    const err = errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => e.message).join("; "));
    err.figures = figures;
    throw err;
  }
  return figures;
}

/** Is `browser` a puppeteer Browser (Firefox, scripts/firefox.mjs) rather than playwright's? */
const isPuppeteer = (browser) => typeof browser.newContext !== "function";

const asScript = (s) => (typeof s === "function" ? `(${s})();` : String(s));

/** A new page of `browser` (playwright Chromium or puppeteer Firefox) that echoes page errors,
 * console errors and warnings to the bench's output, with `inits` (functions or scripts) added
 * as init scripts in that order, before any page script runs (Firefox:
 * `page.evaluateOnNewDocument`, a WebDriver BiDi preload script). */
export async function newBenchPage(browser, ...inits) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log(`  [page error] ${e}`));
  page.on("console", (m) => {
    const t = m.type() === "warn" ? "warning" : m.type();
    if (t === "error" || t === "warning") console.log(`  [page ${t}] ${m.text()}`);
  });
  for (const init of inits.filter(Boolean)) {
    if (isPuppeteer(browser)) await page.evaluateOnNewDocument(asScript(init));
    else await page.addInitScript(init);
  }
  return page;
}

/** Launches "chromium" (playwright-core, scripts/chromium.mjs) or "firefox" (puppeteer-core over
 * WebDriver BiDi, scripts/firefox.mjs); `extra` goes to that launcher. */
export async function launchBrowser(name, extra = {}) {
  if (name === "chromium") return (await import("../scripts/chromium.mjs")).launchChromium(extra);
  if (name === "firefox") return (await import("../scripts/firefox.mjs")).launchFirefox(extra);
  throw new Error(`unknown browser ${name}`);
}

/** The browser's version string, for the bench's output. */
export async function browserVersion(browser) {
  return String(await browser.version());
}

/** `page.goto(url)` that waits for the load event in both drivers. */
export const gotoPage = (page, url) => (typeof page.addInitScript === "function" ? page.goto(url) : page.goto(url, { waitUntil: "load" }));

/** Waits (≤ timeoutMs) until `fn(arg)` is truthy in `page` (playwright or puppeteer; a
 * playwright page has addInitScript, a puppeteer page has not). */
export function waitForPage(page, fn, arg, timeoutMs) {
  if (typeof page.addInitScript === "function") return page.waitForFunction(fn, arg, { timeout: timeoutMs });
  return page.waitForFunction(fn, { timeout: timeoutMs, polling: 50 }, arg);
}
