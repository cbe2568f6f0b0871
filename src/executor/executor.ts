import type { EvaluatorSpec } from "../config/load.js";
import type { Recipe } from "../recipes/recipe.js";

/** What to evaluate: everything a worker needs, nothing about where. */
export interface EvaluationTask {
  evaluator: EvaluatorSpec;
  prompt: string;
  promptIndex: number;
  recipe: Recipe;
}

export interface EvaluationResult {
  score: number;
  /** Time on the worker: noise materialisation plus scoring. */
  latencyMs: number;
  /** Which worker slot computed it, e.g. local#3. */
  worker: string;
}

/** Where evaluations run: a local thread pool here, gRPC workers later. */
export interface Executor {
  /** Evaluations it can run at once. */
  readonly capacity: number;
  /** Rejects on failure, or with an AbortError once `signal` fires. */
  evaluate(task: EvaluationTask, signal: AbortSignal): Promise<EvaluationResult>;
  close(): Promise<void>;
}
