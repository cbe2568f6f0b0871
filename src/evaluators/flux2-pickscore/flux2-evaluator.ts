/** The `flux2-pickscore` evaluator on a device thread: one pipeline per model, reward and precision, kept. */
import type { EvaluationInput } from "../evaluator.js";
import { RewardScorer } from "../rewards/reward-scorer.js";
import { Flux2Models, type DeviceTarget, type RuntimeInfo } from "./model-sessions.js";
import { Flux2PickScorePipeline, type ScoredImage } from "./pipeline.js";
import type { Flux2PickScoreSpec } from "../../domain/sweep.js";

export class Flux2PickScoreEvaluator {
  /** held-out rewards opened so far, by directory */
  private readonly heldout = new Map<string, Promise<RewardScorer>>();

  private constructor(readonly pipeline: Flux2PickScorePipeline, readonly runtime: RuntimeInfo, private readonly device: DeviceTarget, private readonly log: (line: string) => void) {}

  /**
   * Opens the model directory (`spec.model_dir`, resolved by the worker), and the reward's
   * (`spec.reward_dir`) when the objective is another reward, and opens what the spec's batches run
   * (the batch graph of its size and steps is built here), before any timed work.
   */
  static async load(spec: Flux2PickScoreSpec, device: DeviceTarget, log: (line: string) => void): Promise<Flux2PickScoreEvaluator> {
    if (!spec.model_dir) throw new Error(`model '${spec.model}' has no resolved folder (the worker resolves it under its model root)`);
    const models = await Flux2Models.open(spec.model_dir, spec.precision, device);
    const reward = spec.reward_dir ? await RewardScorer.open(spec.reward_dir, spec.precision, device, { log }) : undefined;
    const pipeline = new Flux2PickScorePipeline(models, log, { reward });
    await pipeline.warm(settingsOf(spec));
    return new Flux2PickScoreEvaluator(pipeline, models.runtime, device, log);
  }

  /** Scores of one prompt's candidates, and their images (height x width x 3, uint8) when `images`. */
  async scoreBatch(inputs: EvaluationInput[], spec: Flux2PickScoreSpec, images = false): Promise<ScoredImage[]> {
    const prompt = inputs[0].prompt;
    if (inputs.some((i) => i.prompt !== prompt)) throw new Error("a flux2-pickscore batch must hold one prompt");
    return this.pipeline.scoreBatch(prompt, inputs.map((i) => i.noise), settingsOf(spec), { images });
  }

  /** Each held-out reward's scores of the images (one array per reward, in `dirs` order), in the spec's score convention. */
  async heldoutScores(prompt: string, images: Uint8Array[], dirs: string[], spec: Flux2PickScoreSpec): Promise<number[][]> {
    const out: number[][] = [];
    for (const dir of dirs) {
      let scorer = this.heldout.get(dir);
      if (!scorer) {
        scorer = RewardScorer.open(dir, spec.precision, this.device, { log: this.log });
        this.heldout.set(dir, scorer);
        scorer.catch(() => this.heldout.delete(dir));
      }
      out.push(await (await scorer).scoreImages(prompt, images.map((rgb) => ({ rgb, height: spec.height, width: spec.width })), spec.score));
    }
    return out;
  }
}

export function settingsOf(spec: Flux2PickScoreSpec) {
  return { height: spec.height, width: spec.width, steps: spec.steps, score: spec.score, maxBatch: spec.max_batch };
}
