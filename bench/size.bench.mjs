// The package's weight as an app pays it, next to its peers (issue 6): a tiny
// app entry that imports what a voice app needs, bundled by esbuild
//   --bundle --minify --format=esm --platform=browser
//   --define:process.env.NODE_ENV="production" --loader:.wasm=file
// (the same flags for every library; the voicelink entry adds two --external, below),
// then each output file gzipped at level 9 (node's zlib) and summed. Every entry ends in `globalThis.x = …` so nothing
// it imports is tree-shaken away.
//   size.voicelink_gzip_bytes        VoiceLink from pkg/index.js and useVoiceLink from
//                                    pkg/react.js (the React adapter): the JS bundle (entry +
//                                    wasm-bindgen glue + adapter) + pkg/voicelink_bg.wasm, i.e.
//                                    "wasm + glue + adapter". react and react-dom are external
//                                    (--external:react --external:react-dom, this entry only):
//                                    the app already pays for React.
//   size.livekit_gzip_bytes          livekit-client: Room
//   size.pipecat_gzip_bytes          @pipecat-ai/client-js PipecatClient
//                                    + @pipecat-ai/small-webrtc-transport SmallWebRTCTransport
//   size.openai_realtime_gzip_bytes  @openai/agents-realtime: RealtimeAgent, RealtimeSession
//   size.daily_gzip_bytes            @daily-co/daily-js: the default export
// The peers and esbuild are pinned (PINNED below) and installed once into
// bench/out/peers/ (gitignored) with npm; later runs reuse them. The entries
// are written to bench/out/peers/entries/ (so bare imports resolve there), the
// bundles and their esbuild metafiles to bench/out/size/.
//
// scripts/bench.sh runs the benches in a loopback-only network namespace, where
// npm reaches no registry: there the install is `npm install --offline` (npm's
// cache only; fails at once when it is cold). On a machine whose npm cache has
// none of it, run `node bench/run.mjs size` once outside (after
// `npm run build`), or `VOICELINK_NETNS=0 bash scripts/bench.sh size`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import dns from "node:dns/promises";
import { repoRoot } from "../scripts/chromium.mjs";

export const name = "size";
export const needsPeer = false;

/** What is measured (and esbuild, which measures): exact versions, so the peers' figures only move when these do. */
const PINNED = {
  esbuild: "0.28.2",
  "livekit-client": "2.23.0",
  "@pipecat-ai/client-js": "1.13.1",
  "@pipecat-ai/small-webrtc-transport": "1.10.8",
  "@openai/agents-realtime": "0.20.0",
  "@daily-co/daily-js": "0.92.2",
};

const peersDir = `${repoRoot}bench/out/peers`;
const outDir = `${repoRoot}bench/out/size`;
const INSTALL_TIMEOUT_MS = 300_000;
const BUNDLE_TIMEOUT_MS = 120_000;

/** key → app entry (ES module source) and extra esbuild flags. */
const APPS = {
  voicelink: {
    key: "size.voicelink_gzip_bytes",
    entry:
      `import { VoiceLink } from ${JSON.stringify(`${repoRoot}pkg/index.js`)};\n` +
      `import { useVoiceLink } from ${JSON.stringify(`${repoRoot}pkg/react.js`)};\n` +
      `globalThis.x = [VoiceLink, useVoiceLink];\n`,
    flags: ["--external:react", "--external:react-dom"],
  },
  livekit: {
    key: "size.livekit_gzip_bytes",
    entry: `import { Room } from "livekit-client";\nglobalThis.x = Room;\n`,
  },
  pipecat: {
    key: "size.pipecat_gzip_bytes",
    entry:
      `import { PipecatClient } from "@pipecat-ai/client-js";\n` +
      `import { SmallWebRTCTransport } from "@pipecat-ai/small-webrtc-transport";\n` +
      `globalThis.x = [PipecatClient, SmallWebRTCTransport];\n`,
  },
  openai_realtime: {
    key: "size.openai_realtime_gzip_bytes",
    entry: `import { RealtimeAgent, RealtimeSession } from "@openai/agents-realtime";\nglobalThis.x = [RealtimeAgent, RealtimeSession];\n`,
  },
  daily: {
    key: "size.daily_gzip_bytes",
    entry: `import Daily from "@daily-co/daily-js";\nglobalThis.x = Daily;\n`,
  },
};

const FLAGS = [
  "--bundle",
  "--minify",
  "--format=esm",
  "--platform=browser",
  '--define:process.env.NODE_ENV="production"',
  "--loader:.wasm=file",
  "--log-level=warning",
];

const gzip = (buf) => gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
const kb = (b) => `${(b / 1000).toFixed(1)} kB`;

function installedVersion(pkg) {
  const file = `${peersDir}/node_modules/${pkg}/package.json`;
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")).version;
  } catch {
    return null;
  }
}

/** Whether the npm registry's host resolves (it does not inside scripts/netns.sh's namespace). */
async function registryResolves() {
  let host;
  try {
    host = new URL(execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()).hostname;
  } catch {
    return true; // let npm itself tell
  }
  const lookup = dns.lookup(host).then(() => true, () => false);
  return Promise.race([lookup, new Promise((r) => setTimeout(() => r(false), 5000).unref())]);
}

/** Installs PINNED into bench/out/peers unless every one is there at its version. */
/** Installs the pinned peers into bench/out/peers (skipped when present). scripts/bench.sh calls
 * it outside the loopback namespace, where the npm registry is reachable. */
export async function ensurePeers() {
  const missing = Object.entries(PINNED).filter(([pkg, v]) => installedVersion(pkg) !== v);
  if (missing.length === 0) {
    console.log(`  peers: bench/out/peers has every pinned version (no install)`);
    return;
  }
  const specs = Object.entries(PINNED).map(([pkg, v]) => `${pkg}@${v}`);
  // Without a registry (the loopback namespace) only npm's cache can serve:
  // --offline fails at once when it cannot (npm online would retry for minutes).
  const online = await registryResolves();
  const mode = online ? "--prefer-offline" : "--offline";
  console.log(
    `  peers: installing into bench/out/peers (${online ? "registry" : "no registry reachable: npm cache only"}; ` +
      `missing or other version: ${missing.map(([p]) => p).join(", ")})`,
  );
  mkdirSync(peersDir, { recursive: true });
  const t0 = performance.now();
  try {
    // One command for all, so npm prunes nothing it installed.
    execFileSync(
      "npm",
      ["install", "--prefix", peersDir, "--no-save", "--no-audit", "--no-fund", mode, "--loglevel=error", ...specs],
      { stdio: ["ignore", "inherit", "inherit"], timeout: INSTALL_TIMEOUT_MS },
    );
  } catch (e) {
    throw new Error(
      `npm install ${mode} into bench/out/peers failed (${e.message.split("\n")[0]}). ` +
        (online
          ? ""
          : `No registry is reachable here (scripts/bench.sh runs the benches in a loopback-only namespace): install once ` +
            `outside it with \`node bench/run.mjs size\` (after \`npm run build\`) or \`VOICELINK_NETNS=0 bash scripts/bench.sh size\`.`),
    );
  }
  const still = Object.entries(PINNED).filter(([pkg, v]) => installedVersion(pkg) !== v);
  if (still.length > 0) throw new Error(`after npm install, not at the pinned version: ${still.map(([p]) => p).join(", ")}`);
  console.log(`  peers: installed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** "…/node_modules/@scope/name/dist/x.js" → { name, dir } of the innermost package, or null. */
function packageOf(path) {
  const i = path.lastIndexOf("node_modules/");
  if (i < 0) return null;
  const parts = path.slice(i + "node_modules/".length).split("/");
  const name = parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  return { name, dir: path.slice(0, i) + "node_modules/" + name };
}

const versionCache = new Map();
function versionOf(dir) {
  if (!versionCache.has(dir)) {
    let v = "?";
    try {
      v = JSON.parse(readFileSync(`${repoRoot}${dir}/package.json`, "utf8")).version;
    } catch {
      try {
        v = JSON.parse(readFileSync(`${dir}/package.json`, "utf8")).version;
      } catch {}
    }
    versionCache.set(dir, v);
  }
  return versionCache.get(dir);
}

/** Bundles one app; returns { files: [{ file, raw, gzip }], byPackage: [[label, bytes]] }. */
function bundle(app, source, flags = []) {
  const entryDir = `${peersDir}/entries`; // bare imports resolve from bench/out/peers/node_modules
  mkdirSync(entryDir, { recursive: true });
  const entry = `${entryDir}/${app}.mjs`;
  writeFileSync(entry, source);
  const dir = `${outDir}/${app}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const meta = `${outDir}/${app}.meta.json`;
  execFileSync(`${peersDir}/node_modules/esbuild/bin/esbuild`, [entry, ...FLAGS, ...flags, `--outdir=${dir}`, `--metafile=${meta}`], {
    cwd: repoRoot, // metafile paths are relative to it
    stdio: ["ignore", "inherit", "inherit"],
    timeout: BUNDLE_TIMEOUT_MS,
  });

  const files = readdirSync(dir).sort().map((f) => {
    const buf = readFileSync(`${dir}/${f}`);
    return { file: f, raw: buf.length, gzip: gzip(buf) };
  });
  const js = files.filter((f) => f.file.endsWith(".js"));
  if (js.length !== 1) throw new Error(`${app}: expected one .js output, got ${files.map((f) => f.file).join(", ")}`);
  if (!readFileSync(`${dir}/${js[0].file}`, "utf8").includes("globalThis.x=")) {
    throw new Error(`${app}: the bundle lost \`globalThis.x = …\``);
  }

  // Minified bytes per package (pre-gzip), from the metafile.
  const m = JSON.parse(readFileSync(meta, "utf8"));
  const out = Object.values(m.outputs).find((o) => o.entryPoint);
  const per = new Map();
  for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) {
    const p = packageOf(path);
    const label = p ? `${p.name}@${versionOf(p.dir)}` : path.startsWith("pkg/") ? "voicelink (pkg/)" : "(entry)";
    per.set(label, (per.get(label) || 0) + bytesInOutput);
  }
  const byPackage = [...per].sort((a, b) => b[1] - a[1]);
  return { files, byPackage };
}

export async function run() {
  const t0 = performance.now();
  await ensurePeers();
  const tInstalled = performance.now();
  const esbuildVersion = execFileSync(`${peersDir}/node_modules/esbuild/bin/esbuild`, ["--version"], { encoding: "utf8" }).trim();
  console.log(`  esbuild ${esbuildVersion} ${FLAGS.filter((f) => f !== "--log-level=warning").join(" ")}; gzip level 9 (node zlib) per file, summed`);
  console.log(
    `  measured: ${Object.entries(PINNED)
      .filter(([p]) => p !== "esbuild")
      .map(([p]) => `${p}@${installedVersion(p)}`)
      .join(", ")}`,
  );

  const figures = {};
  for (const [app, { key, entry, flags }] of Object.entries(APPS)) {
    const { files, byPackage } = bundle(app, entry, flags);
    const parts = files.map((f) => ({ what: `bench/out/size/${app}/${f.file}`, ...f }));
    if (app === "voicelink" && !files.some((f) => f.file.endsWith(".wasm"))) {
      // esbuild leaves `new URL("./voicelink_bg.wasm", import.meta.url)` as it
      // is (no asset emitted), so the app ships the file from pkg/ beside its bundle.
      const buf = readFileSync(`${repoRoot}pkg/voicelink_bg.wasm`);
      parts.push({ what: "pkg/voicelink_bg.wasm (not emitted by esbuild; copied)", raw: buf.length, gzip: gzip(buf) });
    }
    const total = { raw: parts.reduce((a, p) => a + p.raw, 0), gzip: parts.reduce((a, p) => a + p.gzip, 0) };
    console.log(`  ${app}`);
    for (const p of parts) console.log(`    ${p.what.padEnd(62)} ${kb(p.raw).padStart(9)} min ${kb(p.gzip).padStart(9)} gzip -9`);
    if (parts.length > 1) console.log(`    ${"total".padEnd(62)} ${kb(total.raw).padStart(9)} min ${kb(total.gzip).padStart(9)} gzip -9`);
    const top = byPackage.slice(0, 5).map(([l, b]) => `${l} ${kb(b)}`);
    if (byPackage.length > 5) top.push(`${byPackage.length - 5} more ${kb(byPackage.slice(5).reduce((a, [, b]) => a + b, 0))}`);
    console.log(`    JS by package (minified, before gzip): ${top.join(", ")}`);
    figures[key] = total.gzip;
  }
  console.log(
    `  (install ${((tInstalled - t0) / 1000).toFixed(1)} s, bundling ${((performance.now() - tInstalled) / 1000).toFixed(1)} s)`,
  );
  return figures;
}
