// The package's public TypeScript types, checked as an app sees them (through the exports map):
// tests/types/usage.ts uses `on()`'s event map, `VoiceLinkError`, the error codes and
// IDLE_SNAPSHOT; each `@ts-expect-error` there must be an error, the rest must compile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../scripts/chromium.mjs";

test("public types: typed on() events, VoiceLinkError, error codes, IDLE_SNAPSHOT", async () => {
  const tsc = join(repoRoot, "node_modules", ".bin", "tsc");
  const out = await new Promise((resolve) => {
    execFile(tsc, ["--noEmit", "-p", join(repoRoot, "tests", "types")], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code ?? 1 : 0, text: `${stdout}${stderr}` }),
    );
  });
  assert.equal(out.code, 0, `tsc found errors:\n${out.text}`);
});
