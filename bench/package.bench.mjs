// Package size: what a page downloads to use voicelink, raw and gzip -9.
//   package.wasm_raw_bytes / package.wasm_gzip_bytes   pkg/voicelink_bg.wasm
//   package.js_raw_bytes   / package.js_gzip_bytes     pkg/voicelink.js + pkg/index.js
// The JS figures are sums over the two files, each gzipped on its own (they
// are fetched as two files).
import { readFileSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import { repoRoot } from "../scripts/chromium.mjs";

export const name = "package";
export const needsPeer = false;

function sizes(rel) {
  const raw = readFileSync(`${repoRoot}${rel}`);
  return { raw: raw.length, gzip: gzipSync(raw, { level: constants.Z_BEST_COMPRESSION }).length };
}

export async function run() {
  const wasm = sizes("pkg/voicelink_bg.wasm");
  const glue = sizes("pkg/voicelink.js");
  const entry = sizes("pkg/index.js");
  const js = { raw: glue.raw + entry.raw, gzip: glue.gzip + entry.gzip };

  const kb = (b) => `${(b / 1000).toFixed(1)} kB`;
  console.log(`  pkg/voicelink_bg.wasm        ${kb(wasm.raw).padStart(9)} raw  ${kb(wasm.gzip).padStart(9)} gzip -9`);
  console.log(`  pkg/voicelink.js             ${kb(glue.raw).padStart(9)} raw  ${kb(glue.gzip).padStart(9)} gzip -9`);
  console.log(`  pkg/index.js                 ${kb(entry.raw).padStart(9)} raw  ${kb(entry.gzip).padStart(9)} gzip -9`);
  console.log(`  total (wasm + js)            ${kb(wasm.raw + js.raw).padStart(9)} raw  ${kb(wasm.gzip + js.gzip).padStart(9)} gzip -9`);

  return {
    "package.wasm_raw_bytes": wasm.raw,
    "package.wasm_gzip_bytes": wasm.gzip,
    "package.js_raw_bytes": js.raw,
    "package.js_gzip_bytes": js.gzip,
  };
}
