/**
 * Evaluations on a pool of worker threads (piscina), one task per thread at a time, so the
 * coordinator's thread stays free for scheduling and writing results.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { EvaluationResult, EvaluationTask, Executor } from "./executor.js";

export class LocalPool implements Executor {
  readonly capacity: number;
  private readonly pool: Piscina;

  constructor(threads = availableParallelism()) {
    this.capacity = threads;
    this.pool = new Piscina({
      filename: new URL("./evaluation-worker.js", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
  }

  evaluate(task: EvaluationTask, signal: AbortSignal): Promise<EvaluationResult> {
    return this.pool.run(task, { signal }) as Promise<EvaluationResult>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
