/**
 * Turns a sweep into searches and trials. Every strategy is anytime (src/strategies/strategy.ts), so
 * one search per (prompt, strategy, seed) runs to the largest budget and every budget's trial is
 * read off its prefix.
 */
import type { StrategySpec, Sweep } from "../domain/sweep.js";

export interface SearchPlan {
  searchId: string;
  promptIndex: number;
  prompt: string;
  strategy: StrategySpec;
  seed: number;
  /** Evaluations this search runs to: the largest budget it serves. */
  budget: number;
  /** Budgets of the trials read off this search. */
  trialBudgets: number[];
}

export interface Plan {
  searches: SearchPlan[];
  trials: number;
  evaluations: number;
  /** Evaluations if every trial ran on its own. */
  evaluationsWithoutSharing: number;
}

export function searchId(promptIndex: number, label: string, seed: number): string {
  return `p${promptIndex}/${label}/s${seed}`;
}

export function planSweep(sweep: Sweep): Plan {
  const searches: SearchPlan[] = [];
  const maxBudget = sweep.budgets[sweep.budgets.length - 1];
  sweep.prompts.forEach((prompt, promptIndex) => {
    for (const strategy of sweep.strategies) {
      for (const seed of sweep.seeds) {
        searches.push({ searchId: searchId(promptIndex, strategy.label, seed), promptIndex, prompt, strategy, seed, budget: maxBudget, trialBudgets: sweep.budgets });
      }
    }
  });
  const trials = searches.reduce((n, s) => n + s.trialBudgets.length, 0);
  const evaluations = searches.reduce((n, s) => n + s.budget, 0);
  const evaluationsWithoutSharing = searches.reduce((n, s) => n + s.trialBudgets.reduce((a, b) => a + b, 0), 0);
  return { searches, trials, evaluations, evaluationsWithoutSharing };
}
