// Reconnect herd: 10,000 clients lose their server at the same instant and make their first
// automatic reconnect attempt. The simulation is the library's own backoff code, natively
// (examples/herd.rs): each client sees the outage after outageTimeoutMs (1500 ms) plus its
// stats sampler's phase (uniform 0..250 ms), then waits its first full-jitter backoff delay.
//   herd.max_share_100ms             largest share of the fleet whose first attempt falls in
//                                    any 100 ms window — default backoff (5 s spread floor)
//   herd.max_share_100ms_seed_jitter the same for seed 004's plain schedule with full jitter
//   herd.max_share_100ms_no_jitter   the same without jitter
// Shares are fractions (0.025 = 2.5 %); the goal is ≤ 0.03.
import { execFileSync } from "node:child_process";
import { repoRoot } from "../scripts/chromium.mjs";

export const name = "herd";
export const needsPeer = false;

export async function run() {
  const out = execFileSync("cargo", ["run", "--quiet", "--release", "--example", "herd", "--", "10000"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const figures = JSON.parse(out.trim().split("\n").at(-1));
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(36)} ${v}`);
  return figures;
}
