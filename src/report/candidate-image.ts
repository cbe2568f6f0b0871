/**
 * `sweep render`: the image of any recorded candidate of a flux2-pickscore run, computed here with
 * the evaluator's own pipeline from the run folder alone (the noise rebuilt as `sweep noise --run`
 * does), and its score checked against the recorded one.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { encode as encodePng } from "fast-png";
import { settingsOf } from "../evaluators/flux2-pickscore/flux2-evaluator.js";
import { checkCudaProvider, Flux2Models, type DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import { Flux2PickScorePipeline } from "../evaluators/flux2-pickscore/pipeline.js";
import { RewardScorer } from "../evaluators/rewards/reward-scorer.js";
import { modelNotFound, rewardNotFound } from "../models/model-error.js";
import { NoiseFactory } from "../recipes/materialise.js";
import { replayCandidates, ReplayError } from "../results/replay.js";
import { loadRun, requestedSearch } from "./load-run.js";
import { ReportInputError } from "./report-input-error.js";

export interface RenderedCandidate {
  score: number;
  recorded: number | null;
  /** null for a noise that is no seed's */
  noiseSeed: number | null;
}

export async function renderCandidate(runDir: string, searchId: string, evalIndex: number, out: string, opts: { modelRoot: string; device: DeviceTarget }): Promise<RenderedCandidate> {
  const run = await loadRun(runDir, { records: true });
  const spec = run.sweep.evaluator;
  if (spec.kind !== "flux2-pickscore") throw new ReportInputError(`${runDir} was scored by the ${spec.kind} evaluator, which makes no images (sweep noise --run gives its noises)`);
  const search = requestedSearch(run, searchId, evalIndex);
  const record = run.searches?.get(searchId);
  if (!record) throw new ReplayError(`${searchId} has no recorded evaluations in ${runDir}`);
  const candidate = replayCandidates(search, record, spec.shape, [evalIndex]).get(evalIndex)!;
  const dir = path.join(opts.modelRoot, spec.model);
  if (!existsSync(dir)) throw modelNotFound(spec.model, opts.modelRoot);
  if (opts.device.kind === "gpu") await checkCudaProvider(opts.device.index);
  const rewardDir = spec.reward ? path.join(opts.modelRoot, spec.reward) : undefined;
  if (rewardDir && spec.reward && !existsSync(rewardDir)) throw rewardNotFound(spec.reward, opts.modelRoot, "reward");
  const models = await Flux2Models.open(dir, spec.precision, opts.device);
  const reward = rewardDir ? await RewardScorer.open(rewardDir, spec.precision, opts.device) : undefined;
  try {
    const pipeline = new Flux2PickScorePipeline(models, (line) => process.stderr.write(`${line}\n`), { reward });
    const noise = new NoiseFactory().materialise(candidate.recipe, spec.shape);
    const [scored] = await pipeline.scoreBatch(search.prompt, [noise], settingsOf(spec), { images: true });
    writeFileSync(out, encodePng({ width: spec.width, height: spec.height, data: scored.image as Uint8Array, channels: 3, depth: 8 }));
    const recorded = record.scores[evalIndex];
    return { score: scored.score, recorded: Number.isNaN(recorded) ? null : recorded, noiseSeed: candidate.noiseSeed };
  } finally {
    await models.release();
    await reward?.release();
  }
}
