import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepBin, tempDir } from "./cli.js";
import { readCsv } from "./run-results.js";
import { stringify } from "csv-stringify/sync";
import stats from "./fixtures/stats-reference.json" with { type: "json" };
import { analyse } from "../src/report/analyse.js";
import { findFailures } from "../src/report/failures.js";
import { loadRun } from "../src/report/load-run.js";
import { budgetCurveSpec, renderSvg } from "../src/report/plots.js";
import { htmlReport, markdownReport } from "../src/report/render.js";
import { candidateStem } from "../src/results/best-files.js";
import type { Manifest } from "../src/results/manifest.js";

const yaml = `name: rep
prompts: ["a cat", "a dog", "a fox"]
seeds: [0, 1, 2, 3]
budgets: [5, 15]
strategies:
  - name: random
  - name: ses
    popsize: 5
    elites: 2
    level: 3
  - name: ses
    label: ses_wide
    popsize: 8
    elites: 3
    level: 2
evaluator: { kind: synthetic, shape: [1, 8, 32, 32] }
`;

let dir: string;
let runDir: string;
beforeAll(async () => {
  dir = tempDir();
  writeFileSync(path.join(dir, "sweep.yaml"), yaml);
  runDir = path.join(dir, "run");
  const r = await runCli(["run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/Report: .*report\.md/);
});

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("sweep report", () => {
  it("writes report.md, report.html, budget_curve.svg and .png, and prints the strategy x budget table", async () => {
    const r = await runCli(["report", runDir, "--out", path.join(dir, "rep1")]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ["report.md", "report.html", "budget_curve.svg", "budget_curve.png"]) expect(existsSync(path.join(dir, "rep1", f)), f).toBe(true);
    expect(r.stdout).toMatch(/^Complete run\./m);
    // the pivot: one row per strategy, one column per budget, mean (95% CI)
    expect(r.stdout).toMatch(/^strategy\s+budget 5\s+budget 15$/m);
    expect(r.stdout).toMatch(/^ses_wide\s+-?\d+\.\d{4} \(-?\d+\.\d{4}, -?\d+\.\d{4}\)[ ^][ *]\s+-?\d+\.\d{4} \(/m);
    expect(r.stdout).toMatch(/over 12 \(prompt, seed\) pairs per cell/);
    const png = readFileSync(path.join(dir, "rep1", "budget_curve.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const svg = readFileSync(path.join(dir, "rep1", "budget_curve.svg"), "utf8");
    expect(svg).toMatch(/evaluations spent/);
    expect(svg).toMatch(/mean best score/);
    expect(svg).toMatch(/ses_wide/);
  });

  it("gives the same numbers in --format json as computed straight from trials.csv", async () => {
    const r = await runCli(["report", runDir, "--format", "json", "--out", path.join(dir, "rep2")]);
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(readFileSync(path.join(dir, "rep2", "report.json"), "utf8"));
    expect(data.complete).toBe(true);
    const trials = readCsv(runDir, "trials.csv");
    for (const strategy of ["random", "ses", "ses_wide"]) {
      for (const budget of [5, 15]) {
        const xs = trials.filter((t) => t.strategy === strategy && t.budget === String(budget)).map((t) => Number(t.best_score));
        const row = data.tables.find((t: { strategy: string; budget: number }) => t.strategy === strategy && t.budget === budget);
        expect(row.n).toBe(12);
        expect(row.mean).toBeCloseTo(meanOf(xs), 12);
        expect(row.ci_low).toBeLessThan(row.mean);
        expect(row.ci_high).toBeGreaterThan(row.mean);
        if (strategy === "random") continue;
        const base = new Map(trials.filter((t) => t.strategy === "random" && t.budget === String(budget)).map((t) => [`${t.prompt_index}/${t.seed}`, Number(t.best_score)]));
        const diffs = trials.filter((t) => t.strategy === strategy && t.budget === String(budget)).map((t) => Number(t.best_score) - base.get(`${t.prompt_index}/${t.seed}`)!);
        const c = data.comparisons.find((x: { strategy: string; budget: number }) => x.strategy === strategy && x.budget === budget);
        expect(c.baseline).toBe("random");
        expect(c.mean_diff).toBeCloseTo(meanOf(diffs), 12);
        expect([c.wins, c.ties, c.losses]).toEqual([diffs.filter((d) => d > 0).length, diffs.filter((d) => d === 0).length, diffs.filter((d) => d < 0).length]);
        expect(c.n).toBe(12);
      }
    }
    // The curve at the largest budget is the table's mean at that budget.
    const last = data.curves.filter((p: { strategy: string; evaluations: number }) => p.strategy === "ses" && p.evaluations === 15)[0];
    expect(last.mean).toBeCloseTo(data.tables.find((t: { strategy: string; budget: number }) => t.strategy === "ses" && t.budget === 15).mean, 12);
    for (const m of data.evaluations_to_match) {
      if (m.evaluations === null) continue;
      const point = data.curves.find((p: { strategy: string; evaluations: number }) => p.strategy === m.strategy && p.evaluations === m.evaluations);
      expect(point.mean).toBeGreaterThanOrEqual(m.target);
      expect(m.compute_ratio).toBeCloseTo(15 / m.evaluations, 12);
    }
  });

  it("gives scipy's Wilcoxon test and bootstrap intervals for recorded scores (the committed fixture)", async () => {
    // Two real runs whose recorded scores are then set to the fixture's inputs: every 'random'
    // trial scores 0, every 'alt' trial the fixture's value for its seed, so alt - random is exactly
    // the fixture's vector and the report must give scipy's figures for it.
    const wil = stats.wilcoxon.find((c) => c.name === "exact, n=12")!;
    const boot = stats.bootstrap.find((c) => c.name === "n=24 scores")!;
    const report = async (values: number[]) => {
      const d = tempDir();
      writeFileSync(path.join(d, "sweep.yaml"), `name: fixture
prompts: ["p"]
seeds: [${values.map((_, i) => i).join(", ")}]
budgets: [1]
strategies: [{ name: random }, { name: random, label: alt }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`);
      const run = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: d });
      expect(run.code, run.stderr).toBe(0);
      const file = path.join(d, "run", "evaluations.csv");
      const rows = readCsv(path.join(d, "run"), "evaluations.csv");
      expect(rows).toHaveLength(2 * values.length);
      for (const r of rows) {
        const v = r.strategy === "alt" ? values[Number(r.seed)] : 0;
        r.score = r.best_so_far = String(v);
      }
      writeFileSync(file, stringify(rows, { header: true, columns: Object.keys(rows[0]) }));
      const r = await runCli(["report", "run", "--format", "json", "--out", "rep"], { cwd: d });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(path.join(d, "rep", "report.json"), "utf8"));
    };
    const [w, b] = await Promise.all([report(wil.d), report(boot.x)]);

    const cw = w.comparisons.find((x: { strategy: string }) => x.strategy === "alt");
    expect(cw.n).toBe(wil.d.length);
    expect(cw.wilcoxon_method).toBe(wil.method);
    expect(Math.abs(cw.wilcoxon_statistic - wil.statistic)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(cw.wilcoxon_p - wil.pvalue)).toBeLessThanOrEqual(1e-9 * wil.pvalue);

    // Different resampling streams: with 10,000 resamples each 2.5% endpoint of two runs agrees
    // within 0.15 standard errors (statistics.test.ts).
    const tolerance = 0.15 * boot.standard_error;
    const row = b.tables.find((x: { strategy: string }) => x.strategy === "alt");
    expect(row.n).toBe(boot.x.length);
    expect(row.mean).toBeCloseTo(boot.mean, 12);
    expect(row.std).toBeCloseTo(boot.std, 12);
    expect(row.median).toBeCloseTo(boot.median, 12);
    expect(Math.abs(row.ci_low - boot.ci_low)).toBeLessThan(tolerance);
    expect(Math.abs(row.ci_high - boot.ci_high)).toBeLessThan(tolerance);
    const cb = b.comparisons.find((x: { strategy: string }) => x.strategy === "alt");
    expect(cb.mean_diff).toBeCloseTo(boot.mean, 12);
    expect(Math.abs(cb.ci_low - boot.ci_low)).toBeLessThan(tolerance);
    expect(Math.abs(cb.ci_high - boot.ci_high)).toBeLessThan(tolerance);
  });

  it("writes a LaTeX table that is well formed", async () => {
    const r = await runCli(["report", runDir, "--format", "latex", "--out", path.join(dir, "rep3"), "--baseline", "ses"]);
    expect(r.code, r.stderr).toBe(0);
    const tex = readFileSync(path.join(dir, "rep3", "report.tex"), "utf8");
    // the pivot: strategies as rows, budgets as columns
    expect(tex).toMatch(/\\begin\{tabular\}\{lrr\}/);
    const body = tex.slice(tex.indexOf("\\hline\nstrategy"), tex.indexOf("\\end{tabular}"));
    const rows = body.split("\n").filter((l) => l.endsWith("\\\\"));
    expect(rows.length).toBe(1 + 3);
    for (const row of rows) expect(row.split("&").length).toBe(3);
    expect((body.match(/\\textbf\{/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(tex).toContain("ses\\_wide");
    let depth = 0;
    for (const ch of tex.replace(/\\[{}]/g, "")) {
      depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    expect((tex.match(/\\begin\{/g) ?? []).length).toBe((tex.match(/\\end\{/g) ?? []).length);
  });

  it("reports a partial run (coordinator killed half way) and says it is incomplete", async () => {
    const d = tempDir();
    writeFileSync(path.join(d, "sweep.yaml"), yaml.replace("shape: [1, 8, 32, 32] }", "shape: [1, 8, 32, 32], latency_ms: 10 }"));
    const partial = path.join(d, "run");
    const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", partial, "--threads", "2"], { cwd: d, stdio: "ignore" });
    const csv = path.join(partial, "evaluations.csv");
    while (!existsSync(csv) || readFileSync(csv, "utf8").split("\n").length < 150) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const r = await runCli(["report", partial, "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/INCOMPLETE run \(status running\): \d+ evaluations missing, \d+ trials incomplete/);
    const data = JSON.parse(readFileSync(path.join(partial, "report.json"), "utf8"));
    expect(data.complete).toBe(false);
    expect(data.missing.evaluations).toBeGreaterThan(0);
    expect(readFileSync(path.join(partial, "report.md"), "utf8")).toMatch(/INCOMPLETE run/);
  });

  it("refuses a CSV with missing columns, or rows of two runs, with a clear message", async () => {
    const broken = tempDir();
    const text = readFileSync(path.join(runDir, "evaluations.csv"), "utf8");
    writeFileSync(path.join(broken, "manifest.json"), readFileSync(path.join(runDir, "manifest.json")));
    writeFileSync(path.join(broken, "evaluations.csv"), text.replace("best_so_far,", ""));
    const r = await runCli(["report", broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/evaluations\.csv lacks the columns best_so_far/);
    const lines = text.trimEnd().split("\n");
    const runId = lines[1].split(",")[0];
    writeFileSync(path.join(broken, "evaluations.csv"), [...lines, lines[1].replace(runId, "20260101-000000-beef")].join("\n") + "\n");
    const mixed = await runCli(["report", broken]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/mixes runs \(.*20260101-000000-beef.*\)/);
    const nothing = await runCli(["report", path.join(broken, "nope")]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/not a run folder/);
  });

  it("an input error from the analysis (an unknown --baseline) reaches the user as one line, exit 2, by its type", async () => {
    const out = path.join(dir, "rep-baseline");
    const r = await runCli(["report", runDir, "--baseline", "nope", "--out", out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe("sweep report: --baseline: no strategy 'nope' in this run (it has: random, ses, ses_wide)\n");
    expect(existsSync(out), "nothing written").toBe(false);
  });
});

describe("report sections beyond the tables", () => {
  it("counts the best images a run never rendered and names the command that renders them", async () => {
    const run = await loadRun(runDir, { bestFiles: true });
    // the synthetic evaluator makes no images: none is missing
    expect(findFailures(run.manifest, run.trials, run.best, runDir).missing_best_images).toBe(0);
    // as a flux2-pickscore run interrupted while rendering: one image per distinct best candidate, one present
    const flux2 = { ...run.manifest, config: { ...run.manifest.config, evaluator: { kind: "flux2-pickscore", model: "m", height: 64, width: 64, steps: 1, score: "logit", precision: "float32", max_batch: 1, shape: [1, 8, 32, 32], timeout_s: 600, retries: 2 } } } as unknown as Manifest;
    const trials = readCsv(runDir, "trials.csv");
    const expected = new Set(trials.map((t) => `best/${candidateStem(`p${t.prompt_index}/${t.strategy}/s${t.seed}`, Number(t.best_eval_index))}.png`));
    const present = [...expected][0];
    const failures = findFailures(flux2, run.trials, { index: [], images: new Set([present]) }, runDir);
    expect(failures.missing_best_images).toBe(expected.size - 1);
    expect(failures.render_command).toBe(`sweep render --run ${runDir} --best`);
    const data = { ...analyse(run, { resamples: 100 }), failures };
    const page = htmlReport(data, "<svg></svg>");
    expect(page).toContain(`<p id="missing-images">${expected.size - 1} best images missing from best/ (not rendered, or not written); render them with <code>sweep render --run ${runDir} --best</code>`);
    expect(markdownReport(data)).toMatch(/## What went wrong\n\n\d+ best images missing .*`sweep render --run .* --best`/);
  });

  it("draws the budget curve with one panel per reward, the legend shared", async () => {
    const run = await loadRun(runDir);
    const data = analyse(run, { resamples: 100, curveResamples: 100 });
    const svg = await renderSvg(budgetCurveSpec(
      [{ reward: "PickScore", points: data.curves }, { reward: "held-out reward", points: data.curves.map((p) => ({ ...p, mean: -p.mean, ci_low: -p.ci_high, ci_high: -p.ci_low })) }],
      { name: "two", complete: true, budgets: data.budgets, strategies: data.strategies },
    ));
    expect(svg).toMatch(/>PickScore<\/text>/);
    expect(svg).toMatch(/>held-out reward<\/text>/);
    expect((svg.match(/aria-label="X-axis/g) ?? []).length).toBe(2);
    expect((svg.match(/role-legend-title/g) ?? []).length).toBe(1);
    expect((svg.match(/role-legend-label/g) ?? []).length).toBe(3);
    expect((svg.match(/aria-roledescription="line mark"/g) ?? []).length).toBe(2 * 3);
  });
});
