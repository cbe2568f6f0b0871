/** trials.csv: one row per (prompt, strategy, seed, budget), read off evaluations.csv (as search records). */
import { writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";
import type { Plan } from "../plan/plan.js";
import { ERROR, NOT_RECORDED, type SearchRecord } from "./search-records.js";

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

export function deriveTrials(runId: string, plan: Plan, searches: Map<string, SearchRecord>): TrialRow[] {
  const trials: TrialRow[] = [];
  for (const s of plan.searches) {
    const rec = searches.get(s.searchId);
    for (const budget of s.trialBudgets) {
      let evaluations = 0;
      let best = -1;
      let failure = -1;
      for (let i = 0; rec && i < Math.min(budget, rec.status.length); i++) {
        if (rec.status[i] === NOT_RECORDED) continue;
        evaluations++;
        if (rec.status[i] === ERROR) {
          if (failure < 0) failure = i;
        } else if (!Number.isNaN(rec.scores[i]) && (best < 0 || rec.scores[i] > rec.scores[best])) {
          best = i;
        }
      }
      trials.push({
        run_id: runId,
        prompt_index: s.promptIndex,
        prompt: s.prompt,
        strategy: s.strategy.label,
        seed: s.seed,
        budget,
        best_score: best >= 0 ? rec!.scores[best] : null,
        best_eval_index: best >= 0 ? best : null,
        best_noise_seed: best >= 0 ? rec!.noiseSeeds[best] : null,
        evaluations,
        status: failure >= 0 ? "failed" : evaluations === budget ? "ok" : "incomplete",
        error: failure >= 0 ? `eval ${failure}: ${rec!.errors.get(failure)}` : "",
      });
    }
  }
  return trials;
}

export function writeTrials(file: string, trials: TrialRow[]): void {
  const body = trials.map((t) => TRIAL_COLUMNS.map((c) => (t[c] === null ? "" : String(t[c]))));
  writeFileSync(file, stringify([[...TRIAL_COLUMNS], ...body]));
}
