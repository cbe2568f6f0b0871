/**
 * `sweep noise --run`: the noise of a recorded candidate, or the best noise of every trial, as .npy
 * files to feed the reference pipeline (DiffSynth's initial_noise). Random candidates come from
 * their noise_seed; the others (SES, zero-order, evolution) from replaying the search with its
 * recorded scores.
 */
import { writeNoiseNpy } from "../io/npy.js";
import type { SearchPlan } from "../plan/plan.js";
import { NoiseFactory } from "../recipes/materialise.js";
import { writeBestFiles, type NoiseDtype } from "../results/write-best-files.js";
import { replayCandidates, ReplayError } from "../results/replay.js";
import { loadRun, requestedSearch, type LoadedRun } from "./load-run.js";
import { ReportInputError } from "./report-input-error.js";
import { createFolder } from "../results/run-dir.js";

function recordOf(run: LoadedRun, search: SearchPlan) {
  const record = run.searches?.get(search.searchId);
  if (!record) throw new ReplayError(`${search.searchId} has no recorded evaluations in ${run.runDir}`);
  return record;
}

/** Writes the noise of one recorded candidate; returns its noise_seed and score. */
export async function exportCandidateNoise(runDir: string, searchId: string, evalIndex: number, out: string, dtype: NoiseDtype): Promise<{ noiseSeed: number | null; score: number | null }> {
  const run = await loadRun(runDir, { records: true });
  const search = requestedSearch(run, searchId, evalIndex);
  const record = recordOf(run, search);
  const shape = run.sweep.evaluator.shape;
  const candidate = replayCandidates(search, record, shape, [evalIndex]).get(evalIndex)!;
  writeNoiseNpy(out, new NoiseFactory().materialise(candidate.recipe, shape), shape, dtype);
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
  if (!budgets.includes(at)) throw new ReportInputError(`this run's budgets are ${budgets.join(", ")} (got ${budget})`, "--budget");
  if (!run.trials.some((t) => t.budget === at && t.best_eval_index !== null)) throw new ReportInputError(`no trial at budget ${at} has a successful evaluation in ${runDir}`);
  createFolder(outDir, "--out-dir");
  const written = await writeBestFiles({ dir: outDir, plan: run.plan, searches: run.searches!, trials: run.trials, shape: run.sweep.evaluator.shape, budgets: [at], dtype });
  return { files: written.noises, index: written.index };
}
