/**
 * Sends tasks to the executor: at most `capacity` at once (so a timeout measures running time, not
 * queueing), each with a deadline, retried up to `retries` times before it counts as failed.
 */
import type { EvaluationResult, EvaluationTask, Executor } from "../executor/executor.js";

export type Outcome =
  | ({ status: "ok"; attempts: number } & EvaluationResult)
  | { status: "error"; attempts: number; error: string; worker: string; latencyMs: number }
  | { status: "cancelled" };

export interface DispatchOptions {
  timeoutMs: number;
  retries: number;
  /** Fires when the run is being stopped: queued tasks are dropped, running ones cancelled. */
  stop: AbortSignal;
}

export class Dispatcher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly executor: Executor, private readonly opts: DispatchOptions) {}

  async evaluate(task: EvaluationTask): Promise<Outcome> {
    await this.acquire();
    try {
      let lastError = "";
      let worker = "";
      let latencyMs = 0;
      for (let attempt = 1; attempt <= this.opts.retries + 1; attempt++) {
        if (this.opts.stop.aborted) return { status: "cancelled" };
        const started = performance.now();
        const deadline = AbortSignal.timeout(this.opts.timeoutMs);
        try {
          const result = await this.executor.evaluate(task, AbortSignal.any([deadline, this.opts.stop]));
          return { status: "ok", attempts: attempt, ...result };
        } catch (e) {
          if (this.opts.stop.aborted) return { status: "cancelled" };
          latencyMs = performance.now() - started;
          lastError = deadline.aborted ? `timed out after ${this.opts.timeoutMs / 1000} s` : errorText(e);
          worker = (e as { worker?: string }).worker ?? worker;
        }
      }
      return { status: "error", attempts: this.opts.retries + 1, error: lastError, worker, latencyMs };
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.executor.capacity) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].slice(0, 500);
}
