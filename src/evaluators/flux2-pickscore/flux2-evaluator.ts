/** The `flux2-pickscore` evaluator on a device thread: one pipeline per model and precision, kept. */
import type { EvaluationInput } from "../evaluator.js";
import { Flux2Models, type DeviceTarget, type RuntimeInfo } from "./model-sessions.js";
import { Flux2PickScorePipeline, type ScoredImage } from "./pipeline.js";
import type { Flux2PickScoreSpec } from "../../domain/sweep.js";

export class Flux2PickScoreEvaluator {
  private constructor(readonly pipeline: Flux2PickScorePipeline, readonly runtime: RuntimeInfo) {}

  /**
   * Opens the model directory (`spec.model_dir`, resolved by the worker) and runs one candidate at
   * the spec's size and steps: the batch graph of that size is built, opened and allocated before
   * any timed work.
   */
  static async load(spec: Flux2PickScoreSpec, device: DeviceTarget, log: (line: string) => void): Promise<Flux2PickScoreEvaluator> {
    if (!spec.model_dir) throw new Error(`model '${spec.model}' has no resolved folder (the worker resolves it under its model root)`);
    const models = await Flux2Models.open(spec.model_dir, spec.precision, device);
    const pipeline = new Flux2PickScorePipeline(models, log);
    await pipeline.warm(new Float32Array(spec.shape[1] * spec.shape[2] * spec.shape[3]), { ...settingsOf(spec), maxBatch: 1 });
    return new Flux2PickScoreEvaluator(pipeline, models.runtime);
  }

  /** Scores of one prompt's candidates, and their images (height x width x 3, uint8) when `images`. */
  async scoreBatch(inputs: EvaluationInput[], spec: Flux2PickScoreSpec, images = false): Promise<ScoredImage[]> {
    const prompt = inputs[0].prompt;
    if (inputs.some((i) => i.prompt !== prompt)) throw new Error("a flux2-pickscore batch must hold one prompt");
    return this.pipeline.scoreBatch(prompt, inputs.map((i) => i.noise), settingsOf(spec), { images });
  }
}

export function settingsOf(spec: Flux2PickScoreSpec) {
  return { height: spec.height, width: spec.width, steps: spec.steps, score: spec.score, maxBatch: spec.max_batch };
}
