import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EVALUATION_COLUMNS } from "../src/results/evaluations-csv.js";
import { TRIAL_COLUMNS } from "../src/results/trials.js";
import { randomCandidateSeed } from "../src/strategies/random-search.js";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";

const small = (budgets: string) => `name: small
prompts: ["a cat", "a lighthouse at dawn"]
seeds: [0, 7]
budgets: ${budgets}
strategies:
  - name: random
  - name: ses
    popsize: 4
    elites: 2
    level: 3
evaluator:
  kind: synthetic
  shape: [1, 8, 32, 32]
`;

async function run(yaml: string, args: string[] = []) {
  const dir = tempDir();
  const file = path.join(dir, "sweep.yaml");
  writeFileSync(file, yaml);
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", file, "--run-dir", runDir, ...args], { cwd: dir });
  return { ...r, runDir, dir };
}

describe("sweep run (real CLI process)", () => {
  it("writes the run folder: manifest, evaluations.csv and trials.csv with the contract's columns", async () => {
    const r = await run(small("[4, 10]"), ["--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Mean best score/);
    // the report's pivot: mean (95% CI) per budget, n in the legend
    expect(r.stdout).toMatch(/^random\s+-?\d+\.\d{4} \(-?\d+\.\d{4}, -?\d+\.\d{4}\)[ ^][ *]\s+-?\d+\.\d{4} \(/m);
    expect(r.stdout).toMatch(/over 4 \(prompt, seed\) pairs per cell/);
    const evals = readCsv(r.runDir, "evaluations.csv");
    expect(Object.keys(evals[0])).toEqual([...EVALUATION_COLUMNS]);
    expect(evals.length).toBe(2 * 2 * 2 * 10);
    expect(scoresByKey(evals).size).toBe(evals.length);
    for (const e of evals) {
      expect(e.status).toBe("ok");
      expect(Number.isFinite(Number(e.score))).toBe(true);
    }
    // Random candidates carry the seed that regenerates them; candidate 0 is the base noise.
    const random = evals.filter((e) => e.search_id === "p1/random/s7").sort((a, b) => +a.eval_index - +b.eval_index);
    expect(random.map((e) => Number(e.noise_seed))).toEqual(random.map((_, k) => randomCandidateSeed(7, k)));
    expect(random[0].noise_seed).toBe("7");
    // best_so_far is the running maximum in eval order.
    let best = -Infinity;
    for (const e of random) {
      best = Math.max(best, Number(e.score));
      expect(Number(e.best_so_far)).toBe(best);
    }
    const ses = evals.filter((e) => e.search_id === "p0/ses/s0").sort((a, b) => +a.eval_index - +b.eval_index);
    expect(ses.map((e) => e.generation)).toEqual(["0", "0", "0", "0", "1", "1", "1", "1", "2", "2"]);

    const trials = readCsv(r.runDir, "trials.csv");
    expect(Object.keys(trials[0])).toEqual([...TRIAL_COLUMNS]);
    expect(trials.length).toBe(2 * 2 * 2 * 2);
    const t = trials.find((x) => x.strategy === "random" && x.seed === "7" && x.prompt_index === "1" && x.budget === "4")!;
    const firstFour = random.slice(0, 4).map((e) => Number(e.score));
    expect(Number(t.best_score)).toBe(Math.max(...firstFour));
    expect(Number(t.best_eval_index)).toBe(firstFour.indexOf(Math.max(...firstFour)));

    const m = readManifest(r.runDir);
    expect(m.status).toBe("completed");
    expect(m.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(m.counts).toEqual({ evaluations: 80, errors: 0 });
    expect(m.config.strategies[1]).toMatchObject({ name: "ses", label: "ses", popsize: 4, elites: 2, wavelet: "db1", level: 3 });
  });

  it("is deterministic: --threads 1 and --threads 4 record the same (search_id, eval_index, score)", async () => {
    const [one, four] = await Promise.all([run(small("[4, 10]"), ["--threads", "1"]), run(small("[4, 10]"), ["--threads", "4"])]);
    expect(one.code, one.stderr).toBe(0);
    expect(four.code, four.stderr).toBe(0);
    const a = scoresByKey(readCsv(one.runDir, "evaluations.csv"));
    const b = scoresByKey(readCsv(four.runDir, "evaluations.csv"));
    expect(a.size).toBe(80);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
  });

  it("reads smaller budgets off the larger search: the budget-4 trial is the same with budgets [4] and [4, 10]", async () => {
    const [alone, shared] = await Promise.all([run(small("[4]")), run(small("[4, 10]"))]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(shared.code, shared.stderr).toBe(0);
    const pick = (rows: Record<string, string>[]) => rows.filter((t) => t.budget === "4")
      .map((t) => [t.prompt_index, t.strategy, t.seed, t.best_score, t.best_eval_index, t.best_noise_seed, t.evaluations].join("|")).sort();
    expect(pick(readCsv(shared.runDir, "trials.csv"))).toEqual(pick(readCsv(alone.runDir, "trials.csv")));
    expect(readCsv(alone.runDir, "evaluations.csv").length).toBe(2 * 2 * 2 * 4);
  });

  it("refuses a run folder that already holds results, leaving them intact", async () => {
    const first = await run(small("[4]"));
    expect(first.code).toBe(0);
    const before = readCsv(first.runDir, "evaluations.csv");
    const again = await runCli(["run", path.join(first.dir, "sweep.yaml"), "--run-dir", first.runDir], { cwd: first.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists and is not empty/);
    expect(readCsv(first.runDir, "evaluations.csv")).toEqual(before);
  });
});

describe("failing evaluations", () => {
  it("records status=error rows, fails only the affected searches, and exits non-zero", async () => {
    const dir = tempDir();
    // Fails for prompt 1 whenever the noise starts above 0: a deterministic subset of candidates.
    writeFileSync(path.join(dir, "flaky.mjs"), `let calls = 0;
export default function score({ noise, promptIndex }) {
  calls++;
  if (promptIndex === 1 && noise[0] > 0) throw new Error("reward model exploded on this noise");
  if (promptIndex === 2 && noise[0] > 0) return NaN;
  return noise[1];
}
`);
    const yaml = `name: flaky
prompts: ["fine", "throws", "nan"]
seeds: [0, 1, 2]
budgets: [5, 12]
strategies: [{ name: random }]
evaluator: { kind: module, path: ./flaky.mjs, shape: [1, 4, 16, 16], retries: 1 }
`;
    writeFileSync(path.join(dir, "sweep.yaml"), yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/searches failed/);
    expect(r.stderr).toMatch(/p1\/random\/s\d: eval \d+: reward model exploded on this noise/);
    expect(r.stderr).toMatch(/p2\/random\/s\d: eval \d+: the evaluator returned NaN; expected a finite number/);
    const runDir = path.join(dir, "run");
    const evals = readCsv(runDir, "evaluations.csv");
    const errors = evals.filter((e) => e.status === "error");
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.score).toBe("");
      expect(e.attempts).toBe("2");
      expect(e.error).toMatch(/exploded|NaN/);
    }
    // Prompt 0 never fails: all of its evaluations are there.
    expect(evals.filter((e) => e.prompt_index === "0" && e.status === "ok").length).toBe(3 * 12);
    expect(scoresByKey(evals).size).toBe(evals.length);
    const trials = readCsv(runDir, "trials.csv");
    expect(trials.filter((t) => t.prompt_index === "0").every((t) => t.status === "ok")).toBe(true);
    const failedTrials = trials.filter((t) => t.status === "failed");
    expect(failedTrials.length).toBeGreaterThan(0);
    expect(failedTrials.every((t) => t.prompt_index !== "0" && /exploded|NaN/.test(t.error))).toBe(true);
    const m = readManifest(runDir);
    expect(m.status).toBe("failed");
    expect(m.failed_searches.length).toBeGreaterThan(0);
  });

  it("fails an evaluation that exceeds timeout_s, and the rest of the run goes on", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "slow.mjs"), `export default async function score({ noise, promptIndex }) {
  if (promptIndex === 1) await new Promise((r) => setTimeout(r, 30000));
  return noise[0];
}
`);
    writeFileSync(path.join(dir, "sweep.yaml"), `prompts: ["fast", "hangs"]
seeds: [0]
budgets: [3]
strategies: [{ name: random }]
evaluator: { kind: module, path: ./slow.mjs, shape: [1, 4, 16, 16], retries: 0, timeout_s: 2 }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir });
    expect(r.code).toBe(1);
    const evals = readCsv(path.join(dir, "run"), "evaluations.csv");
    expect(evals.filter((e) => e.prompt_index === "0" && e.status === "ok").length).toBe(3);
    expect(evals.find((e) => e.prompt_index === "1")!.error).toBe("timed out after 2 s");
  });
});

describe("stopping a run", () => {
  it("SIGTERM stops cleanly: exit 130, manifest interrupted, recorded rows kept, incomplete trials marked", async () => {
    const { spawn } = await import("node:child_process");
    const { existsSync, readFileSync } = await import("node:fs");
    const { sweepBin } = await import("./cli.js");
    const dir = sweepDir(small("[4, 40]").replace("shape: [1, 8, 32, 32]", "shape: [1, 8, 32, 32]\n  latency_ms: 20"));
    const runDir = path.join(dir, "run");
    const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir, stdio: "pipe" });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const csv = path.join(runDir, "evaluations.csv");
    while (!existsSync(csv) || readFileSync(csv, "utf8").split("\n").length < 20) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/SIGTERM: stopping/);
    expect(readManifest(runDir).status).toBe("interrupted");
    const evals = readCsv(runDir, "evaluations.csv");
    expect(evals.length).toBeGreaterThanOrEqual(18);
    expect(evals.length).toBeLessThan(160);
    expect(scoresByKey(evals).size).toBe(evals.length);
    const trials = readCsv(runDir, "trials.csv");
    expect(trials.length).toBe(16);
    expect(trials.some((t) => t.status === "incomplete")).toBe(true);
  });
});
