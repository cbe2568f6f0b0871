/**
 * The numbers of a report: strategy x budget tables (overall and per prompt), paired comparisons
 * against the baseline, budget curves with bands, and evaluations to match the baseline.
 * Pure: rows in, numbers out (docs/report.md describes every field).
 */
import type { Sweep } from "../config/load.js";
import { inProgress, evaluatorLine, runWarnings } from "./run-notes.js";
import { bootstrapMeanCi, DEFAULT_BOOTSTRAP_SEED, DEFAULT_RESAMPLES } from "../statistics/bootstrap.js";
import { mean, median, sampleStd } from "../statistics/descriptive.js";
import { wilcoxon } from "../statistics/wilcoxon.js";
import { OK } from "../results/search-records.js";
import type { LoadedRun } from "./load-run.js";
import { buildGallery, type Gallery } from "./gallery.js";

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
  bootstrap: { resamples: number; curve_resamples: number; seed: number; method: "percentile"; level: 0.95 };
  tables: TableRow[];
  prompt_tables: PromptTableRow[];
  comparisons: Comparison[];
  curves: CurvePoint[];
  evaluations_to_match: MatchRow[];
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

function summaryRow(xs: number[], resamples: number, seed: number) {
  const ci = bootstrapMeanCi(xs, { resamples, seed });
  return { n: xs.length, mean: mean(xs), std: sampleStd(xs), ci_low: ci.low, ci_high: ci.high, median: median(xs) };
}

export function analyse(run: LoadedRun, opts: AnalyseOptions = {}): ReportData {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const curveResamples = opts.curveResamples ?? 2000;
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const strategies = run.sweep.strategies.map((s) => s.label);
  const budgets = run.sweep.budgets;
  const baseline = opts.baseline ?? (strategies.includes("random") ? "random" : strategies[0]);
  if (!strategies.includes(baseline)) throw new Error(`--baseline ${baseline}: no such strategy in this run (it has: ${strategies.join(", ")})`);

  const ok = run.trials.filter((t) => t.status === "ok" && t.best_score !== null);
  const pairKey = (t: { prompt_index: number; seed: number }) => `${t.prompt_index}/${t.seed}`;
  const tables: TableRow[] = [];
  const promptTables: PromptTableRow[] = [];
  const comparisons: Comparison[] = [];
  for (const strategy of strategies) {
    for (const budget of budgets) {
      const cell = ok.filter((t) => t.strategy === strategy && t.budget === budget);
      if (cell.length > 0) tables.push({ strategy, budget, ...summaryRow(cell.map((t) => t.best_score!), resamples, seed) });
      run.sweep.prompts.forEach((prompt, promptIndex) => {
        const xs = cell.filter((t) => t.prompt_index === promptIndex).map((t) => t.best_score!);
        if (xs.length > 0) promptTables.push({ strategy, budget, prompt_index: promptIndex, prompt, ...summaryRow(xs, resamples, seed) });
      });
      if (strategy === baseline) continue;
      const base = new Map(ok.filter((t) => t.strategy === baseline && t.budget === budget).map((t) => [pairKey(t), t.best_score!]));
      const diffs = cell.filter((t) => base.has(pairKey(t))).map((t) => t.best_score! - base.get(pairKey(t))!);
      if (diffs.length === 0) continue;
      const ci = bootstrapMeanCi(diffs, { resamples, seed });
      const w = wilcoxon(diffs);
      comparisons.push({
        strategy, baseline, budget, n: diffs.length, mean_diff: mean(diffs), ci_low: ci.low, ci_high: ci.high,
        wins: diffs.filter((d) => d > 0).length, ties: diffs.filter((d) => d === 0).length, losses: diffs.filter((d) => d < 0).length,
        wilcoxon_statistic: w.statistic, wilcoxon_p: w.pvalue, wilcoxon_method: w.method,
      });
    }
  }

  const curves = budgetCurves(run, strategies, curveResamples, seed);
  const maxBudget = budgets[budgets.length - 1];
  const target = tables.find((t) => t.strategy === baseline && t.budget === maxBudget)?.mean;
  const evaluationsToMatch: MatchRow[] = target === undefined ? [] : strategies.filter((s) => s !== baseline).map((strategy) => {
    const hit = curves.find((p) => p.strategy === strategy && p.mean >= target);
    return {
      strategy, baseline, baseline_budget: maxBudget, target,
      evaluations: hit?.evaluations ?? null,
      compute_ratio: hit ? maxBudget / hit.evaluations : null,
    };
  });

  return {
    run_id: run.manifest.run_id,
    name: run.manifest.name,
    complete: run.complete,
    status: run.manifest.status,
    missing: run.missing,
    baseline,
    bootstrap: { resamples, curve_resamples: curveResamples, seed, method: "percentile", level: 0.95 },
    tables,
    prompt_tables: promptTables,
    comparisons,
    curves,
    evaluations_to_match: evaluationsToMatch,
    in_progress: inProgress(run.runDir),
    evaluator: evaluatorLine((run.manifest.config as Sweep).evaluator),
    warnings: runWarnings(run.manifest),
    gallery: buildGallery(run, run.best),
  };
}

/** Mean best-so-far against evaluations spent, over the (prompt, seed) searches that got that far. */
function budgetCurves(run: LoadedRun, strategies: string[], resamples: number, seed: number): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const strategy of strategies) {
    // best-so-far per search, over its contiguous successful prefix
    const paths: number[][] = [];
    for (const s of run.searches.values()) {
      if (s.strategy !== strategy) continue;
      const path: number[] = [];
      let best = -Infinity;
      for (let i = 0; i < s.status.length && s.status[i] === OK && !Number.isNaN(s.scores[i]); i++) {
        best = Math.max(best, s.scores[i]);
        path.push(best);
      }
      if (path.length > 0) paths.push(path);
    }
    const longest = Math.max(0, ...paths.map((p) => p.length));
    for (let e = 1; e <= longest; e++) {
      const xs = paths.filter((p) => p.length >= e).map((p) => p[e - 1]);
      const ci = bootstrapMeanCi(xs, { resamples, seed });
      points.push({ strategy, evaluations: e, n: xs.length, mean: mean(xs), ci_low: ci.low, ci_high: ci.high });
    }
  }
  return points;
}
