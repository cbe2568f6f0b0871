/**
 * `sweep noise --run`: the noise of a recorded candidate, or the best noise of every trial, as .npy
 * files to feed the reference pipeline (DiffSynth's initial_noise). Random candidates come from
 * their noise_seed; SES ones from replaying the search with its recorded scores.
 */
import { writeNpy } from "../io/npy.js";
import { roundToBfloat16 } from "../noise/bfloat16.js";
import type { SearchPlan } from "../plan/plan.js";
import { NoiseFactory } from "../recipes/materialise.js";
import { writeBestFiles, type NoiseDtype } from "../results/write-best-files.js";
import { replayCandidates, ReplayError } from "../results/replay.js";
import { loadRun, ReportInputError, type LoadedRun } from "./load-run.js";
import { createFolder } from "../results/run-dir.js";

export type { NoiseDtype };

function recordOf(run: LoadedRun, search: SearchPlan) {
  const record = run.searches?.get(search.searchId);
  if (!record) throw new ReplayError(`${search.searchId} has no recorded evaluations in ${run.runDir}`);
  return record;
}

function write(file: string, noise: Float32Array, shape: readonly number[], dtype: NoiseDtype): void {
  writeNpy(file, dtype === "bfloat16" ? roundToBfloat16(noise) : noise, shape);
}

/** Writes the noise of one recorded candidate; returns its noise_seed and score. */
export async function exportCandidateNoise(runDir: string, searchId: string, evalIndex: number, out: string, dtype: NoiseDtype): Promise<{ noiseSeed: number; score: number | null }> {
  const run = await loadRun(runDir, { records: true });
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
  const score = evalIndex < record.scores.length ? record.scores[evalIndex] : NaN;
  return { noiseSeed: candidate.noiseSeed, score: Number.isNaN(score) ? null : score };
}

/**
 * Writes the best noise of every trial at `budget` (default: the largest) into outDir, one .npy per
 * candidate, with index.csv in the format of a run's best/index.csv (paths relative to the folder
 * above outDir).
 */
export async function exportBestNoises(runDir: string, outDir: string, dtype: NoiseDtype, budget?: number): Promise<{ files: number; index: string }> {
  const run = await loadRun(runDir, { records: true });
  const budgets = run.sweep.budgets;
  const at = budget ?? budgets[budgets.length - 1];
  if (!budgets.includes(at)) throw new ReportInputError(`--budget: this run's budgets are ${budgets.join(", ")} (got ${budget})`);
  if (!run.trials.some((t) => t.budget === at && t.best_eval_index !== null)) throw new ReportInputError(`no trial at budget ${at} has a successful evaluation in ${runDir}`);
  createFolder(outDir, "--out-dir");
  const written = await writeBestFiles({ dir: outDir, plan: run.plan, searches: run.searches!, trials: run.trials, shape: run.sweep.evaluator.shape, budgets: [at], dtype });
  return { files: written.noises, index: written.index };
}
