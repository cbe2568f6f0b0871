/** Models loaded and warmed on every device as the worker starts, so no request waits for a load; health says SERVING after. */
import { ModelInputError } from "../models/model-error.js";
import type { Device } from "./devices.js";
import { resolveFlux2Spec } from "./flux2-spec.js";
import type { ModelChecks } from "./model-checks.js";
import type { ModelRoot } from "./model-root.js";
import { WorkerSetupError } from "./worker-setup-error.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";

export interface PreloadContext {
  modelRoot: ModelRoot;
  checks: ModelChecks;
  devices: Device[];
  log: (line: string) => void;
}

/**
 * Each model in turn, at the worker's default settings and `precision`. A model missing or changed
 * since import throws its ModelInputError; one that fails to load, a WorkerSetupError.
 */
export async function preloadModels(models: string[], precision: Flux2PickScoreSpec["precision"], ctx: PreloadContext): Promise<void> {
  for (const model of models) {
    const started = performance.now();
    let spec: Flux2PickScoreSpec;
    try {
      spec = resolveFlux2Spec(ctx.modelRoot, model, { height: 1024, width: 1024, steps: 4, score: "cosine", precision, max_batch: 1 });
    } catch (e) {
      throw preloadError(model, e);
    }
    await ctx.checks.check(spec);
    try {
      await Promise.all(ctx.devices.map((d) => d.pool.prepare(spec)));
    } catch (e) {
      throw preloadError(model, e);
    }
    ctx.log(`loaded and warmed ${model} (${precision}) on ${ctx.devices.map((d) => d.id).join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** A model input error as it is (it says what is wrong with the model); anything else, about the preload. */
function preloadError(model: string, e: unknown): unknown {
  if (e instanceof ModelInputError) return e;
  return new WorkerSetupError(`preloading ${model}: ${(e as Error).message}`, "--preload");
}
