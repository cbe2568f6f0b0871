import type { EvaluatorSpec } from "../config/load.js";
import type { Recipe } from "../recipes/recipe.js";

/** What to evaluate: everything a worker needs, nothing about where. */
export interface EvaluationTask {
  evaluator: EvaluatorSpec;
  prompt: string;
  promptIndex: number;
  recipe: Recipe;
  /** also return the candidate's image (PNG), where the evaluator makes one */
  returnImage?: boolean;
}

export interface EvaluationResult {
  score: number;
  /** Time on the worker: noise materialisation plus scoring. */
  latencyMs: number;
  /** Which worker and device computed it, e.g. 127.0.0.1:7070/cpu. */
  worker: string;
  /** PNG, when asked for and the evaluator makes images */
  image?: Uint8Array;
}

export interface EvaluateOptions {
  /** Fires when the run stops: the evaluation is abandoned (rejects with an AbortError). */
  signal: AbortSignal;
  /** How long one attempt may run once it has started on a device. */
  timeoutMs: number;
}

/** Failure of the evaluation itself (it threw, timed out, or gave no finite score); worth a retry. */
export class EvaluationError extends Error {
  /** `fatal`: no retry can help (a worker lacks the model); the run stops. */
  constructor(message: string, readonly worker = "", readonly fatal = false) {
    super(message);
    this.name = "EvaluationError";
  }
}

/** Where evaluations run: a device's thread pool in a worker, or gRPC workers seen from the coordinator. */
export interface Executor {
  /** Evaluations it can run at once right now. */
  readonly capacity: number;
  /** Resolves with the score, or rejects with an EvaluationError (or an AbortError once stopped). */
  evaluate(task: EvaluationTask, opts: EvaluateOptions): Promise<EvaluationResult>;
  close(): Promise<void>;
}
