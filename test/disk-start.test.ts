/**
 * A disk that is (nearly) full before the run starts: one line, nothing half-written left behind
 * (no partial .reserve, no manifest.json.tmp), manifest.json saying why, and --resume working once
 * space is freed. Needs a small tmpfs (root), as disk-full.test.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { mountTmpfs } from "./tmpfs.js";

const mnt = mountTmpfs("size=160k");

test.runIf(mnt)("a disk with less than the reserve at the start: one line, exit 1, interrupted, nothing half-written; resume works once space is freed (needs root for a tmpfs)", async () => {
  const dir = sweepDir("prompts: [a, b]\nseeds: [0, 1]\nbudgets: [10]\nstrategies: [{name: random}]\nevaluator: {kind: synthetic, shape: [1, 4, 8, 8]}\n");
  const runDir = path.join(mnt!, "run");
  const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "1"]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(/Run interrupted \(disk full: .*\); the evaluations on disk are kept\.\nFree some space, then resume with: (npx )?sweep run .*--resume .*run/);
  expect(JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"))).toMatchObject({ status: "interrupted", error: expect.stringMatching(/^disk full/) });
  expect(readdirSync(runDir).filter((f) => f === ".reserve" || f.endsWith(".tmp"))).toEqual([]);

  // resuming on the still full disk says so in one line, and leaves nothing half-written
  const still = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(still.code, still.stderr).toBe(1);
  expect(still.stderr).not.toMatch(/\n\s+at /);
  expect(still.stderr).toMatch(/disk full|no space left/);
  expect(existsSync(path.join(runDir, "manifest.json.tmp"))).toBe(false);
  expect(existsSync(path.join(runDir, ".reserve"))).toBe(false);

  execFileSync("mount", ["-o", "remount,size=16m", mnt!]);
  const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"))).toMatchObject({ status: "completed", counts: { evaluations: 40 } });
});
