/**
 * One device's evaluations on a pool of threads (piscina), one task per thread at a time, so the
 * thread serving gRPC stays responsive (onnxruntime-node's run() blocks its thread). A thread that
 * crashes fails its task and piscina starts a new one.
 */
import { Piscina } from "piscina";
import { EvaluationError, type EvaluateOptions, type EvaluationResult, type EvaluationTask, type Executor } from "./executor.js";

export class DevicePool implements Executor {
  private readonly pool: Piscina;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly capacity: number, private readonly name: string) {
    this.pool = new Piscina({
      filename: new URL("./evaluation-worker.js", import.meta.url).href,
      minThreads: capacity,
      maxThreads: capacity,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
  }

  get busy(): number {
    return this.running + this.waiting.length;
  }

  async evaluate(task: EvaluationTask, opts: EvaluateOptions): Promise<EvaluationResult> {
    await this.acquire();
    // One controller per task, fired by the deadline or the caller's signal; cheaper than
    // AbortSignal.timeout + AbortSignal.any, which keep their listeners on a long-lived signal.
    const cancel = new AbortController();
    const onAbort = () => cancel.abort();
    let timedOut = false;
    // The deadline starts when a thread is free, so it measures running time, not queueing.
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.abort();
    }, opts.timeoutMs);
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      opts.signal.throwIfAborted();
      const result = (await this.pool.run(task, { signal: cancel.signal })) as EvaluationResult;
      return { ...result, worker: this.name };
    } catch (e) {
      opts.signal.throwIfAborted();
      if (timedOut) throw new EvaluationError(`timed out after ${opts.timeoutMs / 1000} s`, this.name);
      throw new EvaluationError(e instanceof Error ? e.message : String(e), this.name);
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.capacity) {
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

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
