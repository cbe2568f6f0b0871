/** One evaluation as both processes see it: what to evaluate, and what came of it. */
import type { Recipe } from "./candidate.js";
import type { EvaluatorSpec } from "./sweep.js";

/** What to evaluate: everything a worker needs, nothing about where. */
export interface EvaluationTask {
  evaluator: EvaluatorSpec;
  prompt: string;
  promptIndex: number;
  recipe: Recipe;
  /** also return the candidate's image (PNG), where the evaluator makes one */
  returnImage?: boolean;
  /** also score the candidate's image with these held-out rewards (model directory names) */
  heldout?: string[];
  /** their directories on the worker that runs it, set by that worker */
  heldoutDirs?: string[];
}

export interface EvaluationResult {
  score: number;
  /** Time on the worker: noise materialisation plus scoring. */
  latencyMs: number;
  /** Which worker and device computed it, e.g. 127.0.0.1:7070/cpu. */
  worker: string;
  /** PNG, when asked for and the evaluator makes images */
  image?: Uint8Array;
  /** the held-out rewards' scores, in the task's order, when it asked for them */
  heldout?: number[];
}

/** Failure of the evaluation itself (it threw, timed out, or gave no finite score); worth a retry. */
export class EvaluationError extends Error {
  /** `fatal`: no retry can help (a worker lacks the model); the run stops. */
  constructor(message: string, readonly worker = "", readonly fatal = false) {
    super(message);
    this.name = "EvaluationError";
  }
}
