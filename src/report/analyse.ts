/**
 * The numbers of a report: strategy x budget tables (overall and per prompt), paired comparisons
 * against the baseline, budget curves with bands, and evaluations to match the baseline.
 * Pure: rows in, numbers out (docs/report.md describes every field).
 */
import { inProgress, evaluatorLine, runWarnings } from "./run-notes.js";
import { bootstrapMeanCis, DEFAULT_BOOTSTRAP_SEED, DEFAULT_RESAMPLES, type Interval } from "../statistics/bootstrap.js";
import { mean, median, sampleStd } from "../statistics/descriptive.js";
import { wilcoxon } from "../statistics/wilcoxon.js";
import type { SearchSummary } from "../results/search-summary.js";
import type { TrialRow } from "../results/trials.js";
import type { LoadedRun } from "./load-run.js";
import { buildGallery, type Gallery } from "./gallery.js";
import { describeExperiment, type Experiment } from "./experiment.js";
import { findFailures, type Failures } from "./failures.js";
import { perPrompt, type PerPrompt } from "./per-prompt.js";
import { ReportInputError } from "./report-input-error.js";
import type { Sweep } from "../domain/sweep.js";

export interface TableRow { strategy: string; budget: number; n: number; mean: number; std: number; ci_low: number; ci_high: number; median: number }
export interface PromptTableRow extends TableRow { prompt_index: number; prompt: string }
export interface Comparison {
  strategy: string; baseline: string; budget: number; n: number; mean_diff: number; ci_low: number; ci_high: number;
  wins: number; ties: number; losses: number; wilcoxon_statistic: number; wilcoxon_p: number; wilcoxon_method: string;
}
export interface CurvePoint { strategy: string; evaluations: number; n: number; mean: number; ci_low: number; ci_high: number }
export interface MatchRow { strategy: string; baseline: string; baseline_budget: number; target: number; evaluations: number | null; compute_ratio: number | null }

export interface ReportData {
  run_id: string;
  name: string;
  complete: boolean;
  status: string;
  missing: LoadedRun["missing"];
  baseline: string;
  /** labels in the sweep's order */
  strategies: string[];
  budgets: number[];
  bootstrap: { resamples: number; curve_resamples: number; seed: number; method: "percentile"; level: 0.95 };
  tables: TableRow[];
  prompt_tables: PromptTableRow[];
  comparisons: Comparison[];
  /** why `comparisons` is empty, in a sentence; null when it is not */
  no_comparison: string | null;
  curves: CurvePoint[];
  evaluations_to_match: MatchRow[];
  /** why `evaluations_to_match` is empty, in a sentence; null when it is not */
  no_match: string | null;
  /** per prompt at the largest budget: each strategy's mean and its difference to the baseline */
  per_prompt: PerPrompt;
  /** what experiment this is (manifest.json) */
  experiment: Experiment;
  /** failed trials, the run's error, best images missing */
  failures: Failures;
  /** who is still writing the run folder (its lock), or null */
  in_progress: string | null;
  /** the evaluator in one line */
  evaluator: string;
  /** synthetic models, mixed device kinds */
  warnings: string[];
  /** base and best images per (prompt, seed) at the largest budget: paths relative to the run folder */
  gallery: Gallery;
}

export interface AnalyseOptions {
  baseline?: string;
  resamples?: number;
  curveResamples?: number;
  seed?: number;
}

/**
 * Bootstrap intervals asked for one by one and computed together (bootstrapMeanCis, by length):
 * the same numbers as one bootstrapMeanCi each, the resample indices drawn once per length.
 */
class IntervalBatch {
  private readonly byLength = new Map<number, { xs: readonly number[]; done: (ci: Interval) => void }[]>();
  constructor(private readonly resamples: number, private readonly seed: number) {}

  add(xs: readonly number[], done: (ci: Interval) => void): void {
    const jobs = this.byLength.get(xs.length);
    if (jobs) jobs.push({ xs, done });
    else this.byLength.set(xs.length, [{ xs, done }]);
  }

  run(): void {
    for (const jobs of this.byLength.values()) {
      const cis = bootstrapMeanCis(jobs.map((j) => j.xs), { resamples: this.resamples, seed: this.seed });
      jobs.forEach((j, i) => j.done(cis[i]));
    }
    this.byLength.clear();
  }
}

/** A table row (`head`'s fields first) whose interval the batch fills in when it runs. */
function summaryRow<H extends object>(head: H, xs: number[], batch: IntervalBatch) {
  const row = { ...head, n: xs.length, mean: mean(xs), std: sampleStd(xs), ci_low: NaN, ci_high: NaN, median: median(xs) };
  batch.add(xs, (ci) => Object.assign(row, { ci_low: ci.low, ci_high: ci.high }));
  return row;
}

export function analyse(run: LoadedRun, opts: AnalyseOptions = {}): ReportData {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const curveResamples = opts.curveResamples ?? 2000;
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const strategies = run.sweep.strategies.map((s) => s.label);
  const baseline = opts.baseline ?? (strategies.includes("random") ? "random" : strategies[0]);
  if (!strategies.includes(baseline)) throw new ReportInputError(`no strategy '${baseline}' in this run (it has: ${strategies.join(", ")})`, "--baseline");
  const ok = run.trials.filter((t) => t.status === "ok" && t.best_score !== null);
  const { tables, promptTables, comparisons } = resultTables(run, ok, strategies, baseline, resamples, seed);
  const { curves, evaluationsToMatch } = budgetCurves(run, tables, strategies, baseline, curveResamples, seed);
  return {
    run_id: run.manifest.run_id,
    name: run.manifest.name,
    complete: run.complete,
    status: run.manifest.status,
    missing: run.missing,
    baseline,
    strategies,
    budgets: [...run.sweep.budgets],
    bootstrap: { resamples, curve_resamples: curveResamples, seed, method: "percentile", level: 0.95 },
    tables,
    prompt_tables: promptTables,
    comparisons,
    no_comparison: comparisons.length > 0 ? null : whyNoComparison(strategies, baseline, ok, run.trials),
    curves,
    evaluations_to_match: evaluationsToMatch,
    no_match: evaluationsToMatch.length > 0 ? null : whyNoMatch(strategies, baseline, run.sweep.budgets),
    per_prompt: perPrompt(ok, run.sweep.prompts, strategies, baseline, run.sweep.budgets[run.sweep.budgets.length - 1]),
    experiment: describeExperiment(run.manifest),
    failures: findFailures(run.manifest, run.trials, run.best, run.runDir),
    in_progress: inProgress(run.runDir),
    evaluator: evaluatorLine((run.manifest.config as Sweep).evaluator),
    warnings: runWarnings(run.manifest),
    gallery: buildGallery(run, run.best),
  };
}

/** Per (strategy, budget): the summary over all prompts and per prompt, and the paired comparison with the baseline. */
function resultTables(run: LoadedRun, ok: TrialRow[], strategies: string[], baseline: string, resamples: number, seed: number) {
  const pairKey = (t: { prompt_index: number; seed: number }) => `${t.prompt_index}/${t.seed}`;
  const tables: TableRow[] = [];
  const promptTables: PromptTableRow[] = [];
  const comparisons: Comparison[] = [];
  const batch = new IntervalBatch(resamples, seed);
  // Grouped once: a cell or a prompt's trials are looked up, not filtered out of all trials.
  const cells = new Map<string, TrialRow[]>();
  for (const t of ok) {
    const k = `${t.strategy}\u0000${t.budget}`;
    const cell = cells.get(k);
    if (cell) cell.push(t);
    else cells.set(k, [t]);
  }
  for (const strategy of strategies) {
    for (const budget of run.sweep.budgets) {
      const cell = cells.get(`${strategy}\u0000${budget}`) ?? [];
      if (cell.length > 0) tables.push(summaryRow({ strategy, budget }, cell.map((t) => t.best_score!), batch));
      const byPrompt = new Map<number, number[]>();
      for (const t of cell) {
        const xs = byPrompt.get(t.prompt_index);
        if (xs) xs.push(t.best_score!);
        else byPrompt.set(t.prompt_index, [t.best_score!]);
      }
      run.sweep.prompts.forEach((prompt, promptIndex) => {
        const xs = byPrompt.get(promptIndex);
        if (xs) promptTables.push(summaryRow({ strategy, budget, prompt_index: promptIndex, prompt }, xs, batch));
      });
      if (strategy === baseline) continue;
      const base = new Map((cells.get(`${baseline}\u0000${budget}`) ?? []).map((t) => [pairKey(t), t.best_score!]));
      const diffs = cell.filter((t) => base.has(pairKey(t))).map((t) => t.best_score! - base.get(pairKey(t))!);
      if (diffs.length === 0) continue;
      const w = wilcoxon(diffs);
      const comparison: Comparison = {
        strategy, baseline, budget, n: diffs.length, mean_diff: mean(diffs), ci_low: NaN, ci_high: NaN,
        wins: diffs.filter((d) => d > 0).length, ties: diffs.filter((d) => d === 0).length, losses: diffs.filter((d) => d < 0).length,
        wilcoxon_statistic: w.statistic, wilcoxon_p: w.pvalue, wilcoxon_method: w.method,
      };
      batch.add(diffs, (ci) => Object.assign(comparison, { ci_low: ci.low, ci_high: ci.high }));
      comparisons.push(comparison);
    }
  }
  batch.run();
  return { tables, promptTables, comparisons };
}

/** Best-so-far curves per strategy, and the evaluations each needs to match the baseline's mean at its largest budget. */
function budgetCurves(run: LoadedRun, tables: TableRow[], strategies: string[], baseline: string, curveResamples: number, seed: number) {
  const budgets = run.sweep.budgets;
  const maxBudget = budgets[budgets.length - 1];
  const target = tables.find((t) => t.strategy === baseline && t.budget === maxBudget)?.mean;
  const curveSets = strategies.map((strategy) => ({ strategy, searches: searchCurves(run, strategy) }));
  const reached = new Map(curveSets.map(({ strategy, searches }) => [strategy, target === undefined ? null : firstReaching(searches, target)]));
  const curves = curveSets.flatMap(({ strategy, searches }) => {
    const at = reached.get(strategy);
    return curvePoints(strategy, searches, curveGrid(searches, budgets, at ?? undefined), curveResamples, seed);
  });
  const evaluationsToMatch: MatchRow[] = target === undefined ? [] : strategies.filter((s) => s !== baseline).map((strategy) => {
    const hit = reached.get(strategy) ?? null;
    return {
      strategy, baseline, baseline_budget: maxBudget, target,
      evaluations: hit,
      compute_ratio: hit !== null ? maxBudget / hit : null,
    };
  });
  return { curves, evaluationsToMatch };
}

/** Why the evaluations-to-match table is empty, in a sentence. */
function whyNoMatch(strategies: string[], baseline: string, budgets: readonly number[]): string {
  if (strategies.length === 1) return `Only one strategy (${baseline}): no other strategy to match it.`;
  return `No trial of the baseline ${baseline} succeeded at its largest budget (${budgets[budgets.length - 1]}): there is no target to match.`;
}

/** Why no strategy could be compared with the baseline, in a sentence. */
function whyNoComparison(strategies: string[], baseline: string, ok: TrialRow[], trials: TrialRow[]): string {
  if (strategies.length === 1) return `No other strategy to compare with ${baseline}.`;
  if (ok.length === 0) {
    const failed = trials.filter((t) => t.status === "failed").length;
    return `No comparison: no trial succeeded (${failed} of ${trials.length} failed, ${trials.length - failed} incomplete).`;
  }
  const succeeded = (s: string) => ok.some((t) => t.strategy === s);
  if (!succeeded(baseline)) return `No comparison: no trial of the baseline ${baseline} succeeded.`;
  const others = strategies.filter((s) => s !== baseline);
  if (!others.some(succeeded)) return `No comparison: no trial of ${others.join(", ")} succeeded.`;
  return `No comparison: no (prompt, seed) has successful trials of ${baseline} and another strategy at the same budget.`;
}

/**
 * Budget curves: mean best-so-far against evaluations spent, over the (prompt, seed) searches that
 * got that far (their contiguous successful prefix). Drawn at every count up to CURVE_DENSE, then
 * at CURVE_PER_DECADE counts a decade, at every budget and at the longest prefix: the work and the
 * memory grow with the searches, not with the evaluations.
 */
export const CURVE_DENSE = 200;
export const CURVE_PER_DECADE = 25;

/** A search's best-so-far as a step function: best[j] from evaluation at[j] + 1 on, up to length. */
type Curve = SearchSummary["curve"];

function searchCurves(run: LoadedRun, strategy: string): Curve[] {
  const out: Curve[] = [];
  for (const s of run.summaries.values()) if (s.strategy === strategy && s.curve.length > 0) out.push(s.curve);
  return out;
}

/** The best-so-far of a curve after e evaluations (1 <= e <= length). */
function valueAt(c: Curve, e: number): number {
  let lo = 0;
  let hi = c.at.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c.at[mid] <= e - 1) lo = mid;
    else hi = mid - 1;
  }
  return c.best[lo];
}

/** The values at e of the curves that got that far, in the order of the curves. */
function valuesAt(curves: Curve[], e: number): number[] {
  const xs: number[] = [];
  for (const c of curves) if (c.length >= e) xs.push(valueAt(c, e));
  return xs;
}

function curveGrid(curves: Curve[], budgets: readonly number[], extra?: number): number[] {
  const longest = curves.reduce((m, c) => Math.max(m, c.length), 0);
  const grid = new Set<number>();
  for (let e = 1; e <= Math.min(longest, CURVE_DENSE); e++) grid.add(e);
  for (let k = 1; ; k++) {
    const e = Math.round(CURVE_DENSE * 10 ** (k / CURVE_PER_DECADE));
    if (e > longest) break;
    grid.add(e);
  }
  for (const b of budgets) if (b <= longest) grid.add(b);
  if (longest > 0) grid.add(longest);
  if (extra !== undefined && extra <= longest) grid.add(extra);
  return [...grid].sort((a, b) => a - b);
}

function curvePoints(strategy: string, curves: Curve[], grid: number[], resamples: number, seed: number): CurvePoint[] {
  const batch = new IntervalBatch(resamples, seed);
  const points = grid.map((e) => {
    const xs = valuesAt(curves, e);
    const point: CurvePoint = { strategy, evaluations: e, n: xs.length, mean: mean(xs), ci_low: NaN, ci_high: NaN };
    batch.add(xs, (ci) => Object.assign(point, { ci_low: ci.low, ci_high: ci.high }));
    return point;
  });
  batch.run();
  return points;
}

/**
 * The smallest number of evaluations at which the mean best-so-far reaches `target`, or null. The
 * mean only changes where some curve improves or ends, so those counts are the only candidates;
 * a running sum finds them and the mean is computed exactly (as the curve's points are) to decide.
 */
function firstReaching(curves: Curve[], target: number): number | null {
  const events: { e: number; curve: number; value: number }[] = [];
  curves.forEach((c, k) => {
    for (let j = 0; j < c.at.length; j++) events.push({ e: c.at[j] + 1, curve: k, value: c.best[j] });
    events.push({ e: c.length + 1, curve: k, value: NaN });
  });
  events.sort((a, b) => a.e - b.e);
  const current = new Float64Array(curves.length).fill(NaN);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < events.length;) {
    const e = events[i].e;
    for (; i < events.length && events[i].e === e; i++) {
      const { curve, value } = events[i];
      const before = current[curve];
      if (!Number.isNaN(before)) {
        sum -= before;
        n--;
      }
      if (!Number.isNaN(value)) {
        sum += value;
        n++;
      }
      current[curve] = value;
    }
    if (n === 0) continue;
    const tolerance = 1e-6 * (Math.abs(target) + Math.abs(sum / n) + 1);
    if (sum / n >= target - tolerance && mean(valuesAt(curves, e)) >= target) return e;
  }
  return null;
}
