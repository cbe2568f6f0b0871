/** Evaluations on the thread that runs them: recipe -> noise -> evaluator -> finite score. */
import { createEvaluator } from "../evaluators/create-evaluator.js";
import type { Evaluator } from "../evaluators/evaluator.js";
import { Flux2PickScoreEvaluator } from "../evaluators/flux2-pickscore/flux2-evaluator.js";
import { encode as encodePng } from "fast-png";
import type { DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import { recipeScore } from "../evaluators/noop.js";
import { NoiseFactory } from "../recipes/materialise.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";
import type { EvaluationResult, EvaluationTask } from "../domain/outcome.js";

const noise = new NoiseFactory();
const evaluators = new Map<string, Promise<Evaluator>>();
const flux2 = new Map<string, Promise<Flux2PickScoreEvaluator>>();

/** The device this thread runs on (piscina's workerData); the CPU when none is given. */
export interface ThreadContext {
  device: DeviceTarget;
  log: (line: string) => void;
}

function finite(score: unknown): number {
  if (typeof score !== "number" || !Number.isFinite(score)) {
    throw new Error(`the evaluator returned ${typeof score === "number" ? String(score) : typeof score}; expected a finite number`);
  }
  return score;
}

function cached<T>(map: Map<string, Promise<T>>, key: string, create: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = create();
    map.set(key, value);
    value.catch(() => map.delete(key));
  }
  return value;
}

/** One pipeline per model directory and precision per thread: sessions are created once and kept. */
export function flux2Evaluator(spec: Flux2PickScoreSpec, ctx: ThreadContext): Promise<Flux2PickScoreEvaluator> {
  return cached(flux2, `${spec.model_dir}|${spec.precision}|${spec.reward_dir ?? ""}`, () => Flux2PickScoreEvaluator.load(spec, ctx.device, ctx.log));
}

/** `evaluatorKey`: the key this thread caches the task's evaluator under (evaluator-key.ts). */
export async function evaluateTask(task: EvaluationTask, evaluatorKey: string): Promise<Pick<EvaluationResult, "score" | "latencyMs">> {
  const started = performance.now();
  const spec = task.evaluator;
  if (spec.kind === "noop") return { score: recipeScore(task.recipe, task.promptIndex), latencyMs: performance.now() - started };
  if (spec.kind === "flux2-pickscore") throw new Error("flux2-pickscore evaluates in batches (evaluateFlux2Batch)");
  const evaluator = await cached(evaluators, evaluatorKey, () => createEvaluator(spec));
  const input = { noise: noise.materialise(task.recipe, spec.shape), shape: spec.shape, prompt: task.prompt, promptIndex: task.promptIndex };
  return { score: finite(await evaluator.score(input)), latencyMs: performance.now() - started };
}

/**
 * Candidates of one prompt through the FLUX.2 pipeline together; each gets the batch's time per
 * candidate, and its image as PNG when the tasks ask for it.
 */
export async function evaluateFlux2Batch(tasks: EvaluationTask[], ctx: ThreadContext): Promise<Pick<EvaluationResult, "score" | "latencyMs" | "image" | "heldout">[]> {
  const started = performance.now();
  const spec = tasks[0].evaluator as Flux2PickScoreSpec;
  const evaluator = await flux2Evaluator(spec, ctx);
  const inputs = tasks.map((t) => ({ noise: noise.materialise(t.recipe, spec.shape), shape: spec.shape, prompt: t.prompt, promptIndex: t.promptIndex }));
  const dirs = tasks[0].heldoutDirs ?? [];
  // images cross from the device only for candidates whose image is kept (renders of best images) or scored again (held-out rewards)
  const scored = await evaluator.scoreBatch(inputs, spec, dirs.length > 0 || tasks.some((t) => t.returnImage));
  const heldout = dirs.length > 0 ? await evaluator.heldoutScores(tasks[0].prompt, scored.map((s) => s.image as Uint8Array), dirs, spec) : [];
  const latencyMs = (performance.now() - started) / tasks.length;
  return scored.map((s, i) => ({
    score: finite(s.score),
    latencyMs,
    ...(tasks[i].returnImage && s.image ? { image: encodePng({ width: spec.width, height: spec.height, data: s.image, channels: 3, depth: 8 }) } : {}),
    ...(dirs.length > 0 ? { heldout: heldout.map((scores) => finite(scores[i])) } : {}),
  }));
}
