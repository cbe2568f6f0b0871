/** Retries: an evaluation that fails is tried again, up to `retries` more times, then counts as failed. */
import type { Executor } from "../domain/executor.js";
import { InputError } from "../domain/input-error.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../domain/outcome.js";

export type Outcome =
  | ({ status: "ok"; attempts: number } & EvaluationResult)
  | { status: "error"; attempts: number; error: string; worker: string; latencyMs: number }
  | { status: "cancelled" };

export interface DispatchOptions {
  timeoutMs: number;
  retries: number;
  /** Fires when the run is being stopped: pending evaluations are abandoned. */
  stop: AbortSignal;
}

/** A worker answered with an error no retry can fix (it lacks the model): a setup mistake, the run must stop. */
export class FatalEvaluationError extends InputError {
  constructor(message: string, readonly worker: string) {
    super(message, worker);
  }
}

export class Dispatcher {
  constructor(private readonly executor: Executor, private readonly opts: DispatchOptions) {}

  async evaluate(task: EvaluationTask): Promise<Outcome> {
    let error = "";
    let worker = "";
    let latencyMs = 0;
    for (let attempt = 1; attempt <= this.opts.retries + 1; attempt++) {
      if (this.opts.stop.aborted) return { status: "cancelled" };
      const started = performance.now();
      try {
        const result = await this.executor.evaluate(task, { signal: this.opts.stop, timeoutMs: this.opts.timeoutMs });
        return { status: "ok", attempts: attempt, ...result };
      } catch (e) {
        if (this.opts.stop.aborted) return { status: "cancelled" };
        if (!(e instanceof EvaluationError)) throw e;
        if (e.fatal) throw new FatalEvaluationError(e.message, e.worker);
        error = e.message.split("\n")[0].slice(0, 500);
        worker = e.worker || worker;
        latencyMs = performance.now() - started;
      }
    }
    return { status: "error", attempts: this.opts.retries + 1, error, worker, latencyMs };
  }
}
