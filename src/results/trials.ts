/** trials.csv: one row per (prompt, strategy, seed, budget), read off evaluations.csv. */
import { writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";
import type { Plan } from "../plan/plan.js";
import type { EvaluationRow } from "./evaluations-csv.js";

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

export function deriveTrials(runId: string, plan: Plan, rows: EvaluationRow[]): TrialRow[] {
  const bySearch = new Map<string, EvaluationRow[]>();
  for (const r of rows) {
    const list = bySearch.get(r.search_id) ?? [];
    list.push(r);
    bySearch.set(r.search_id, list);
  }
  const trials: TrialRow[] = [];
  for (const s of plan.searches) {
    const evals = (bySearch.get(s.searchId) ?? []).sort((a, b) => a.eval_index - b.eval_index);
    for (const budget of s.trialBudgets) {
      const prefix = evals.filter((r) => r.eval_index < budget);
      let best: EvaluationRow | undefined;
      for (const r of prefix) {
        if (r.status === "ok" && r.score !== null && (!best || r.score > best.score!)) best = r;
      }
      const failure = prefix.find((r) => r.status === "error");
      const complete = prefix.length === budget && !failure;
      trials.push({
        run_id: runId,
        prompt_index: s.promptIndex,
        prompt: s.prompt,
        strategy: s.strategy.label,
        seed: s.seed,
        budget,
        best_score: best?.score ?? null,
        best_eval_index: best?.eval_index ?? null,
        best_noise_seed: best?.noise_seed ?? null,
        evaluations: prefix.length,
        status: failure ? "failed" : complete ? "ok" : "incomplete",
        error: failure ? `eval ${failure.eval_index}: ${failure.error}` : "",
      });
    }
  }
  return trials;
}

export function writeTrials(file: string, trials: TrialRow[]): void {
  const body = trials.map((t) => TRIAL_COLUMNS.map((c) => (t[c] === null ? "" : String(t[c]))));
  writeFileSync(file, stringify([[...TRIAL_COLUMNS], ...body]));
}
