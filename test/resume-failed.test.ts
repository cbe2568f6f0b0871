/**
 * `--resume` retries failed searches from where their records end: the evaluations they recorded
 * are kept (none evaluated again), the failed one is evaluated again, and the run ends with the
 * scores of a run that never failed. A real module evaluator that fails while a flag file exists.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";

it("resuming a run whose searches failed retries them and completes it, each recorded evaluation kept", async () => {
  const dir = tempDir();
  const flag = path.join(dir, "failing");
  writeFileSync(flag, "");
  writeFileSync(path.join(dir, "objective.mjs"), `import { existsSync } from "node:fs";
export default ({ noise, prompt }) => {
  if (prompt === "b" && noise[1] > 0.5 && existsSync(${JSON.stringify(flag)})) throw new Error("flaky storage");
  return noise[0] + noise[2];
};
`);
  const yaml = "prompts: [a, b]\nseeds: [0, 1]\nbudgets: [12]\nstrategies: [{name: random}, {name: ses, popsize: 4, elites: 2, level: 1}]\nevaluator: {kind: module, path: objective.mjs, shape: [1, 4, 8, 8], retries: 0}\n";
  writeFileSync(path.join(dir, "sweep.yaml"), yaml);
  const runDir = path.join(dir, "run");
  const first = await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "2"]);
  expect(first.code, first.stderr).toBe(1);
  expect(first.stderr).toMatch(/searches failed:[\s\S]*flaky storage/);
  const failedRows = readCsv(runDir, "evaluations.csv");
  const keptScores = new Map(failedRows.filter((r) => r.status === "ok").map((r) => [`${r.search_id}#${r.eval_index}`, r.score]));
  expect(failedRows.some((r) => r.status === "error")).toBe(true);

  rmSync(flag);
  const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toMatch(/resuming: \d+ evaluations already recorded, \d+ to go \(\d+ failed before: evaluated again/);
  expect(readManifest(runDir)).toMatchObject({ status: "completed", failed_searches: [], counts: { evaluations: 96, errors: 0 } });

  // every earlier success kept as it was (not evaluated again: one row each), the failures replaced
  const rows = readCsv(runDir, "evaluations.csv");
  const okRows = rows.filter((r) => r.status === "ok");
  expect(scoresByKey(okRows).size).toBe(96);
  for (const [key, score] of keptScores) expect(okRows.filter((r) => `${r.search_id}#${r.eval_index}` === key).map((r) => r.score)).toEqual([score]);
  const trials = readCsv(runDir, "trials.csv");
  expect(trials.every((t) => t.status === "ok")).toBe(true);

  const whole = path.join(dir, "whole");
  expect((await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", whole, "--threads", "2"])).code).toBe(0);
  expect(scoresByKey(okRows)).toEqual(scoresByKey(readCsv(whole, "evaluations.csv")));
});
