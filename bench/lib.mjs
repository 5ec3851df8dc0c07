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

/** A new page of `browser` that echoes page errors, console errors and warnings to the bench's
 * output, with `init` (a function or script, optional) added as an init script. */
export async function newBenchPage(browser, init) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log(`  [page error] ${e}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") console.log(`  [page ${m.type()}] ${m.text()}`);
  });
  if (init) await page.addInitScript(init);
  return page;
}
