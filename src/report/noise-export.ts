/**
 * `sweep noise --run`: the noise of a recorded candidate, or the best noise of every trial, as .npy
 * files to feed the reference pipeline (DiffSynth's initial_noise). Random candidates come from
 * their noise_seed; SES ones from replaying the search with its recorded scores.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "csv-stringify/sync";
import { writeNpy } from "../io/npy.js";
import { roundToBfloat16 } from "../noise/bfloat16.js";
import { searchId as searchIdOf, type SearchPlan } from "../plan/plan.js";
import { NoiseFactory } from "../recipes/materialise.js";
import { replayCandidates, ReplayError } from "../run/replay.js";
import { loadRun, ReportInputError, type LoadedRun } from "./load-run.js";

export type NoiseDtype = "float32" | "bfloat16";

function recordOf(run: LoadedRun, search: SearchPlan) {
  const record = run.searches.get(search.searchId);
  if (!record) throw new ReplayError(`${search.searchId} has no recorded evaluations in ${run.runDir}`);
  return record;
}

function write(file: string, noise: Float32Array, shape: readonly number[], dtype: NoiseDtype): void {
  writeNpy(file, dtype === "bfloat16" ? roundToBfloat16(noise) : noise, shape);
}

/** Writes the noise of one recorded candidate; returns its noise_seed and score. */
export async function exportCandidateNoise(runDir: string, searchId: string, evalIndex: number, out: string, dtype: NoiseDtype): Promise<{ noiseSeed: number; score: number | null }> {
  const run = await loadRun(runDir);
  const search = run.plan.searches.find((s) => s.searchId === searchId);
  if (!search) {
    const some = run.plan.searches.slice(0, 3).map((s) => s.searchId).join(", ");
    throw new ReportInputError(`--search: ${runDir} has no search '${searchId}' (search ids look like ${some}; see the search_id column of evaluations.csv)`);
  }
  if (!Number.isInteger(evalIndex) || evalIndex < 0 || evalIndex >= search.budget) {
    throw new ReportInputError(`--eval: expected an eval_index from 0 to ${search.budget - 1} (got ${evalIndex})`);
  }
  const record = recordOf(run, search);
  const shape = run.sweep.evaluator.shape;
  const candidate = replayCandidates(search, record, shape, [evalIndex]).get(evalIndex)!;
  write(out, new NoiseFactory().materialise(candidate.recipe, shape), shape, dtype);
  const score = record.scores[evalIndex];
  return { noiseSeed: candidate.noiseSeed, score: Number.isNaN(score) ? null : score };
}

/**
 * Writes the best noise of every trial at `budget` (default: the largest) into outDir, one
 * <search>_b<budget>.npy each, with index.csv saying which trial, candidate and score each is.
 */
export async function exportBestNoises(runDir: string, outDir: string, dtype: NoiseDtype, budget?: number): Promise<{ files: number; index: string }> {
  const run = await loadRun(runDir);
  const budgets = run.sweep.budgets;
  const at = budget ?? budgets[budgets.length - 1];
  if (!budgets.includes(at)) throw new ReportInputError(`--budget: this run's budgets are ${budgets.join(", ")} (got ${budget})`);
  const trials = run.plan.searches.filter((s) => s.trialBudgets.includes(at)).flatMap((search) => {
    const trial = run.trials.find((t) => t.prompt_index === search.promptIndex && t.strategy === search.strategy.label && t.seed === search.seed && t.budget === at);
    return trial && trial.best_eval_index !== null ? [{ search, trial, best: trial.best_eval_index }] : [];
  });
  if (trials.length === 0) throw new ReportInputError(`no trial at budget ${at} has a successful evaluation in ${runDir}`);
  const shape = run.sweep.evaluator.shape;
  const factory = new NoiseFactory();
  mkdirSync(outDir, { recursive: true });
  const rows: (string | number)[][] = [["prompt_index", "prompt", "strategy", "seed", "budget", "trial_status", "best_score", "best_eval_index", "best_noise_seed", "file"]];
  for (const { search, trial, best } of trials) {
    const candidate = replayCandidates(search, recordOf(run, search), shape, [best]).get(best)!;
    const file = `${searchIdOf(search.promptIndex, search.strategy.label, search.seed, at).replaceAll("/", "_")}.npy`;
    write(path.join(outDir, file), factory.materialise(candidate.recipe, shape), shape, dtype);
    rows.push([trial.prompt_index, trial.prompt, trial.strategy, trial.seed, at, trial.status, String(trial.best_score), best, String(candidate.noiseSeed), file]);
  }
  const index = path.join(outDir, "index.csv");
  writeFileSync(index, stringify(rows));
  return { files: rows.length - 1, index };
}
