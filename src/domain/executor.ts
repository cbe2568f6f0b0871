import type { EvaluationResult, EvaluationTask } from "./outcome.js";

export interface EvaluateOptions {
  /** Fires when the run stops: the evaluation is abandoned (rejects with an AbortError). */
  signal: AbortSignal;
  /** How long one attempt may run once it has started on a device. */
  timeoutMs: number;
}

/** Where evaluations run: a device's thread pool in a worker, or gRPC workers seen from the coordinator. */
export interface Executor {
  /** Evaluations it can run at once right now. */
  readonly capacity: number;
  /** Resolves with the score, or rejects with an EvaluationError (or an AbortError once stopped). */
  evaluate(task: EvaluationTask, opts: EvaluateOptions): Promise<EvaluationResult>;
  close(): Promise<void>;
}
