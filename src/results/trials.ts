/** trials.csv: one row per (prompt, strategy, seed, budget), read off evaluations.csv (as search summaries). */
import { writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";
import type { Plan } from "../plan/plan.js";
import type { SearchSummary } from "./search-summary.js";

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

/** The trials of a plan, from the summaries of its searches (readSearchSummaries, with the plan's trial budgets). */
export function deriveTrials(runId: string, plan: Plan, searches: Map<string, SearchSummary>): TrialRow[] {
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

/** The plan's trial budgets of a search, for readSearchSummaries. */
export function trialBudgetsOf(plan: Plan): (searchId: string) => readonly number[] {
  const budgets = new Map(plan.searches.map((s) => [s.searchId, s.trialBudgets]));
  return (searchId) => budgets.get(searchId) ?? [];
}

export function writeTrials(file: string, trials: TrialRow[]): void {
  const body = trials.map((t) => TRIAL_COLUMNS.map((c) => (t[c] === null ? "" : String(t[c]))));
  writeFileSync(file, stringify([[...TRIAL_COLUMNS], ...body]));
}
