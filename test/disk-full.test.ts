/**
 * A disk that fills up mid-run stops the run cleanly: status interrupted with the reason, the
 * resume command printed, exit code 1; once space is freed, --resume ends with exactly the
 * evaluations of an uninterrupted run. Needs a small tmpfs (root).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { expect, test } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { mountTmpfs } from "./tmpfs.js";

const mnt = mountTmpfs("size=320k");

const rows = (dir: string) => (parse(readFileSync(path.join(dir, "evaluations.csv")), { columns: true }) as Record<string, string>[]);

// Skipped (and shown as skipped) where a small tmpfs cannot be mounted: that needs root.
test.runIf(mnt)("a full disk stops the run resumable (exit 1, interrupted, the reason), and --resume completes it (needs root for a tmpfs)", async () => {
  const dir = sweepDir("prompts: [a, b, c, d]\nseeds: [0, 1, 2, 3, 4]\nbudgets: [100]\nstrategies: [{name: random}, {name: ses, popsize: 5, elites: 2, level: 2}]\nevaluator: {kind: synthetic, shape: [1, 4, 16, 16]}\n");
  const runDir = path.join(mnt!, "run");
  const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "2"]);
  expect(r.stderr).toMatch(/cannot write evaluations\.csv \(ENOSPC\)/);
  expect(r.stderr).toMatch(/Run interrupted \(disk full: .*\); the evaluations on disk are kept\.\nFree some space, then resume with: (npx )?sweep run .*sweep\.yaml --resume .*run/);
  expect(r.code).toBe(1);
  expect(JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"))).toMatchObject({ status: "interrupted", error: expect.stringMatching(/^disk full/) });

  // free space where the run is, then resume
  execFileSync("mount", ["-o", "remount,size=16m", mnt!]);
  const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(resumed.code, resumed.stderr).toBe(0);

  const whole = path.join(dir, "whole");
  expect((await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", whole])).code).toBe(0);
  const key = (x: Record<string, string>) => `${x.search_id}#${x.eval_index}`;
  const expected = new Map(rows(whole).map((x) => [key(x), x.score]));
  const got = rows(runDir);
  expect(got).toHaveLength(expected.size);
  for (const x of got) expect(x.score, key(x)).toBe(expected.get(key(x)));
});
