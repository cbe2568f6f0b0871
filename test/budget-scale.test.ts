// Issue 10, defect 5: budgets have an upper bound (what cannot run is refused with the limit and
// why), per-search state is sized by what was evaluated rather than by the budget, stopping a
// run with a huge budget is prompt, and the report's curves agree with a direct computation while
// being drawn at a bounded number of points. Speed and memory figures: bench/report-scale.mjs.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvLine, EVALUATION_COLUMNS, type EvaluationRow } from "../src/results/evaluations-csv.js";
import { readSearchRecords, recordedAt } from "../src/results/search-records.js";
import { readSearchSummaries } from "../src/results/search-summary.js";
import { runCli, sweepBin, sweepDir, tempDir } from "./cli.js";
import { readCsv, type Row } from "./run-results.js";

const children: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function row(searchId: string, evalIndex: number, budget: number, score: number | null): EvaluationRow {
  return {
    run_id: "r1", search_id: searchId, prompt_index: 0, prompt: "a", strategy: "random", seed: 0, budget,
    eval_index: evalIndex, generation: null, noise_seed: evalIndex + 100, score, best_so_far: score,
    status: score === null ? "error" : "ok", error: score === null ? "boom" : "", worker: "w/cpu", latency_ms: 1,
    finished_at: "2026-11-26T00:00:00.000Z", attempts: 1,
  };
}

function writeEvaluations(rows: EvaluationRow[]): string {
  const file = path.join(tempDir(), "evaluations.csv");
  writeFileSync(file, `${EVALUATION_COLUMNS.join(",")}\n${rows.map(csvLine).join("")}`);
  return file;
}

describe("budgets: bounded, and state sized by what was evaluated", () => {
  it("refuses a budget above the limit as a config error naming file:line:col, the limit and why; nothing is written", async () => {
    const dir = sweepDir(`prompts: ["a"]
seeds: [0]
budgets: [10, 1e12]
strategies: [{ name: random }]
evaluator: { kind: noop }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run"], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^sweep\.yaml:3:\d+: budgets\.1: a budget is at most 1000000000 evaluations: resuming a search or rebuilding its candidates holds its recorded scores in memory \(17 bytes each, 17 GB at this limit\) \(got 1e12\)$/m);
    expect(existsSync(path.join(dir, "run"))).toBe(false);
    const atLimit = await runCli(["plan", "sweep.yaml", "--set", "budgets=[1000000000]"], { cwd: dir });
    expect(atLimit.code, atLimit.stderr).toBe(0);
    // An SES generation is drawn whole by every running search: bounded too.
    const popsize = await runCli(["plan", "sweep.yaml", "--set", "budgets=[10]", "--set", "strategies.0={name: ses, popsize: 1000000}"], { cwd: dir });
    expect(popsize.code).toBe(2);
    expect(popsize.stderr.trim()).toBe("--set strategies.0={name: ses, popsize: 1000000}: strategies.0.popsize: popsize 1000000 x 2048 low-band values is 7813 MiB a generation, which every SES search draws at once; at most 256 MiB (popsize 32768 here)");
  });

  it("reads a search of a huge budget into arrays sized by its recorded evaluations, and summarises it exactly", async () => {
    const budget = 200_000_000;
    // Rows of one search out of order (a gap filled later), an error, and a second search.
    const file = writeEvaluations([
      row("p0/random/s0", 0, budget, 0.5), row("p0/random/s0", 2, budget, 0.9), row("p0/random/s1", 0, budget, 0.1),
      row("p0/random/s0", 1, budget, 0.7), row("p0/random/s0", 3, budget, null), row("p0/random/s0", 4, budget, 2),
    ]);
    const records = await readSearchRecords(file);
    const s0 = records.searches.get("p0/random/s0")!;
    expect(s0.status.length).toBeLessThanOrEqual(1024);
    expect(s0.scores.length).toBe(s0.status.length);
    expect(recordedAt(s0, 2)).toEqual({ status: "ok", score: 0.9, error: "", noiseSeed: 102 });
    expect(recordedAt(s0, 3)?.status).toBe("error");
    expect(recordedAt(s0, 5000)).toBeUndefined();
    expect(records.rows).toBe(6);

    const summaries = await readSearchSummaries(file, () => [2, 4, budget]);
    const sum0 = summaries.searches.get("p0/random/s0")!;
    expect(sum0.recorded).toBe(5);
    expect(sum0.trials.map((t) => [t.budget, t.evaluations, t.bestIndex, t.bestScore, t.failureIndex])).toEqual([
      [2, 2, 1, 0.7, -1], [4, 4, 2, 0.9, 3], [budget, 5, 4, 2, 3],
    ]);
    expect(sum0.trials[2].failure).toBe("boom");
    // The curve is the successful prefix 0..2, stepping where the best improves.
    expect(sum0.curve).toEqual({ length: 3, at: [0, 1, 2], best: [0.5, 0.7, 0.9] });
    expect(summaries.searches.get("p0/random/s1")!.trials[2]).toMatchObject({ evaluations: 1, bestIndex: 0, bestScore: 0.1 });
  });

  it("stops a run of budget 1e9 promptly on SIGTERM: trials, manifest and report written, exit 130", async () => {
    const dir = sweepDir(`prompts: ["a"]
seeds: [0]
budgets: [1000000000]
strategies: [{ name: random }]
evaluator: { kind: noop }
`);
    const runDir = path.join(dir, "run");
    const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", runDir, "--threads", "1"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.resume();
    const csv = path.join(runDir, "evaluations.csv");
    for (let i = 0; i < 600 && !(existsSync(csv) && readFileSync(csv, "utf8").split("\n").length > 2000); i++) await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    // The old code sized arrays by the budget (8 GB at 1e9) and bootstrapped a curve point per
    // evaluation; this bound only catches that kind of behaviour (figures: bench/report-scale.mjs).
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Run interrupted; \d+ evaluations recorded/);
    const recorded = readCsv(runDir, "evaluations.csv").length;
    const trials = readCsv(runDir, "trials.csv");
    expect(trials).toHaveLength(1);
    expect(trials[0]).toMatchObject({ budget: "1000000000", evaluations: String(recorded), status: "incomplete" });
    expect(readFileSync(path.join(runDir, "report.md"), "utf8")).toMatch(/INCOMPLETE run \(status interrupted\)/);
  });
});

describe("report curves at scale", () => {
  it("agree with best-so-far computed from the rows, every count up to 200 then a sparse grid; evaluations to match is exact", async () => {
    const dir = sweepDir(`prompts: ["a cat", "a dog"]
seeds: [0, 1, 2]
budgets: [50, 600]
strategies: [{ name: random }, { name: ses, popsize: 10 }]
evaluator: { kind: synthetic, shape: [1, 16, 32, 32] }
`);
    const run = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const report = await runCli(["report", "run", "--format", "json", "--out", "rep"], { cwd: dir });
    expect(report.code, report.stderr).toBe(0);
    const data = JSON.parse(readFileSync(path.join(dir, "rep", "report.json"), "utf8"));

    // Best-so-far paths straight from evaluations.csv, searches in order of first appearance.
    const paths = new Map<string, { strategy: string; scores: number[] }>();
    for (const r of readCsv(path.join(dir, "run"), "evaluations.csv") as Row[]) {
      const p = paths.get(r.search_id) ?? { strategy: r.strategy, scores: [] };
      paths.set(r.search_id, p);
      p.scores[Number(r.eval_index)] = Number(r.score);
    }
    const curve = (strategy: string, e: number) => {
      const xs = [...paths.values()].filter((p) => p.strategy === strategy).map((p) => Math.max(...p.scores.slice(0, e)));
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    for (const strategy of ["random", "ses"]) {
      const points = data.curves.filter((p: { strategy: string }) => p.strategy === strategy);
      const counts = points.map((p: { evaluations: number }) => p.evaluations);
      for (let e = 1; e <= 200; e++) expect(counts).toContain(e);
      expect(counts).toContain(600);
      expect(counts.length).toBeLessThan(260);
      for (const p of points) {
        expect(p.n).toBe(6);
        expect(p.mean).toBeCloseTo(curve(strategy, p.evaluations), 12);
      }
    }
    const target = data.tables.find((t: { strategy: string; budget: number }) => t.strategy === "random" && t.budget === 600).mean;
    let first: number | null = null;
    for (let e = 1; e <= 600 && first === null; e++) if (curve("ses", e) >= target) first = e;
    const match = data.evaluations_to_match.find((m: { strategy: string }) => m.strategy === "ses");
    expect(first).not.toBeNull();
    expect(match.evaluations).toBe(first);
    expect(data.curves.some((p: { strategy: string; evaluations: number }) => p.strategy === "ses" && p.evaluations === first)).toBe(true);
  });
});
