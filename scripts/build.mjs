#!/usr/bin/env node
// Builds the npm package into pkg/ (settings: wasm-pack.toml):
//   cargo build --target wasm32-unknown-unknown → wasm-bindgen → wasm-opt → entry files.
// Needs: rustup target wasm32-unknown-unknown, the wasm-bindgen CLI of the version pinned in
// Cargo.toml, and `npm install` (binaryen, smol-toml). scripts/setup.sh installs all three.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const settings = parse(readFileSync(join(root, "wasm-pack.toml"), "utf8"));
const { profile = "release", target = "web", "out-dir": outDirName = "pkg" } = settings.build ?? {};
const opt = settings["wasm-opt"] ?? {};
const outDir = join(root, outDirName);

function run(cmd, args) {
  console.error(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { cwd: root, stdio: "inherit" });
}

const cargoProfile = profile === "dev" ? [] : ["--profile", profile];
run("cargo", ["build", "-p", "voicelink", "--lib", "--target", "wasm32-unknown-unknown", ...cargoProfile]);
const profileDir = profile === "dev" ? "debug" : profile;
const wasm = join(root, "target", "wasm32-unknown-unknown", profileDir, "voicelink.wasm");

mkdirSync(outDir, { recursive: true });
run("wasm-bindgen", ["--target", target, "--out-dir", outDir, "--out-name", "voicelink", wasm]);

const bgWasm = join(outDir, "voicelink_bg.wasm");
if (opt.enabled) {
  const wasmOpt = join(root, "node_modules", ".bin", "wasm-opt");
  const before = statSync(bgWasm).size;
  run(wasmOpt, [...(opt.args ?? ["-Oz"]), bgWasm, "-o", `${bgWasm}.opt`]);
  renameSync(`${bgWasm}.opt`, bgWasm);
  console.error(`wasm-opt: ${before} → ${statSync(bgWasm).size} bytes`);
}

// js/: the entry, the framework adapters and their types.
for (const file of readdirSync(join(root, "js")).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))) {
  copyFileSync(join(root, "js", file), join(outDir, file));
}
console.error(`built ${outDirName}/ (index.js, voicelink.js, voicelink_bg.wasm, *.d.ts)`);
