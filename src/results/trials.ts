/**
 * trials.csv: one row per (prompt, strategy, seed, budget), derived from evaluations.csv (as search
 * summaries) by trialsOf alone: the run's end, the report and noise export read the same trials.
 */
import { writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";
import type { Plan } from "../plan/plan.js";
import type { EvaluationRecords } from "./search-records.js";
import { readSearchSummaries, summariseRecords, type EvaluationSummaries, type SearchSummary, type TrialBudgets } from "./search-summary.js";

export const TRIAL_COLUMNS = [
  "run_id", "prompt_index", "prompt", "strategy", "seed", "budget", "best_score", "best_eval_index",
  "best_noise_seed", "evaluations", "status", "error",
] as const;

export type TrialStatus = "ok" | "failed" | "incomplete";

export interface TrialRow {
  run_id: string;
  prompt_index: number;
  prompt: string;
  strategy: string;
  seed: number;
  budget: number;
  best_score: number | null;
  best_eval_index: number | null;
  best_noise_seed: number | null;
  evaluations: number;
  status: TrialStatus;
  error: string;
}

export interface DerivedTrials {
  /** Per search: what the trials and the budget curves were read off. */
  summaries: EvaluationSummaries;
  trials: TrialRow[];
}

/**
 * The trials of a run's plan from its evaluations.csv: from the records already read (`records`),
 * else streamed from the file; with `runId`, rows of another run are refused.
 */
export async function trialsOf(file: string, plan: Plan, runId: string, records?: EvaluationRecords): Promise<DerivedTrials> {
  const budgets = trialBudgetsOf(plan);
  const summaries = records ? summariseRecords(records, budgets) : await readSearchSummaries(file, budgets, runId);
  return { summaries, trials: deriveTrials(runId, plan, summaries.searches) };
}

function deriveTrials(runId: string, plan: Plan, searches: Map<string, SearchSummary>): TrialRow[] {
  const trials: TrialRow[] = [];
  for (const s of plan.searches) {
    const summary = searches.get(s.searchId);
    for (const budget of s.trialBudgets) {
      const t = summary?.trials.find((x) => x.budget === budget);
      const best = t && t.bestIndex >= 0 ? t : undefined;
      const failed = t && t.failureIndex >= 0 ? t : undefined;
      const evaluations = t?.evaluations ?? 0;
      trials.push({
        run_id: runId,
        prompt_index: s.promptIndex,
        prompt: s.prompt,
        strategy: s.strategy.label,
        seed: s.seed,
        budget,
        best_score: best ? best.bestScore : null,
        best_eval_index: best ? best.bestIndex : null,
        best_noise_seed: best ? best.bestNoiseSeed : null,
        evaluations,
        status: failed ? "failed" : evaluations === budget ? "ok" : "incomplete",
        error: failed ? `eval ${failed.failureIndex}: ${failed.failure}` : "",
      });
    }
  }
  return trials;
}

function trialBudgetsOf(plan: Plan): TrialBudgets {
  const budgets = new Map(plan.searches.map((s) => [s.searchId, s.trialBudgets]));
  return (searchId) => budgets.get(searchId) ?? [];
}

export function writeTrials(file: string, trials: TrialRow[]): void {
  const body = trials.map((t) => TRIAL_COLUMNS.map((c) => (t[c] === null ? "" : String(t[c]))));
  writeFileSync(file, stringify([[...TRIAL_COLUMNS], ...body]));
}
