/** One evaluation on the thread that runs it: recipe -> noise -> evaluator -> finite score. */
import { createEvaluator, type Evaluator } from "../evaluators/evaluator.js";
import { recipeScore } from "../evaluators/noop.js";
import { NoiseFactory } from "../recipes/materialise.js";
import type { EvaluationResult, EvaluationTask } from "./executor.js";

const noise = new NoiseFactory();
const evaluators = new Map<string, Promise<Evaluator>>();

export async function evaluateTask(task: EvaluationTask): Promise<Pick<EvaluationResult, "score" | "latencyMs">> {
  const started = performance.now();
  if (task.evaluator.kind === "noop") return { score: recipeScore(task.recipe, task.promptIndex), latencyMs: performance.now() - started };
  const key = JSON.stringify(task.evaluator);
  let evaluator = evaluators.get(key);
  if (!evaluator) {
    evaluator = createEvaluator(task.evaluator);
    evaluators.set(key, evaluator);
    evaluator.catch(() => evaluators.delete(key));
  }
  const shape = task.evaluator.shape;
  const input = { noise: noise.materialise(task.recipe, shape), shape, prompt: task.prompt, promptIndex: task.promptIndex };
  const score = await (await evaluator).score(input);
  if (typeof score !== "number" || !Number.isFinite(score)) {
    throw new Error(`the evaluator returned ${typeof score === "number" ? String(score) : typeof score}; expected a finite number`);
  }
  return { score, latencyMs: performance.now() - started };
}
