// Runs the benchmarks (bench/*.bench.mjs) and merges their figures into
// bench/results.json. scripts/bench.sh (`npm run bench`) builds everything and
// starts the dev peer first; benches that need it declare `needsPeer`.
//   node bench/run.mjs [NAME...]     only bench/NAME.bench.mjs
// Each bench module exports `name`, `needsPeer` and `run()` → { key: number }, and may
// export `retiredKeys`: keys it used to write, removed from results.json when it has run.
// Browser benches run once per browser of VOICELINK_BROWSERS (default chromium,firefox);
// Firefox's keys carry a ".firefox" suffix (bench/lib.mjs perBrowser).
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mergeResults } from "./lib.mjs";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.mjs$/, "")))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench/*.bench.mjs matches ${only.join(" ") || "(any)"}`);
  process.exit(2);
}

const figures = {};
const retired = [];
const failed = [];
for (const file of files) {
  const bench = await import(new URL(file, import.meta.url));
  console.log(`\n## ${bench.name} (${file})`);
  if (bench.needsPeer && !process.env.VOICELINK_PEER_URL) {
    console.log("  (VOICELINK_PEER_URL not set: expecting the dev peer at http://127.0.0.1:7878)");
  }
  const t0 = performance.now();
  try {
    const got = await bench.run();
    Object.assign(figures, got);
    retired.push(...(bench.retiredKeys || []));
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    // A bench that runs in several browsers attaches the figures of the browsers that
    // succeeded (bench/lib.mjs perBrowser): they are stored, the bench still counts as failed.
    if (e && e.figures) Object.assign(figures, e.figures);
    failed.push(bench.name);
    console.error(`  FAILED: ${e.stack || e}`);
  }
}

if (Object.keys(figures).length > 0) {
  mergeResults(figures, retired);
  console.log("\n## figures written to bench/results.json");
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(36)} ${v}`);
  if (retired.length > 0) console.log(`  (removed, replaced by the keys above: ${retired.join(", ")})`);
}
if (failed.length > 0) {
  console.error(`\nbench: failed: ${failed.join(", ")}`);
  process.exit(1);
}
