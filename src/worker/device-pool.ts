/**
 * One device's evaluations on a pool of threads (piscina), one task per thread at a time, so the
 * thread serving gRPC stays responsive while a model runs (a run blocks its thread). A thread that
 * crashes fails its task and piscina starts a new one.
 *
 * Cheap evaluations go to a thread in batches: a thread round trip (a message and a wake-up, tens
 * of microseconds) would otherwise cost more than the evaluation. A batch holds about BATCH_MS of
 * work by the latencies seen so far, so evaluations of a real model (and the first ones, whose
 * latency is not known yet) still go one per task.
 *
 * A model task is never terminated (native-guard.ts says why): at its deadline its candidates fail
 * at once and its thread is cancelled, which stops it at its next onnxruntime call; the slot frees
 * when it has. A thread still inside one run REPLACE_AFTER_MS later (a whole batch is one run) gives
 * its slot to a new thread, which loads the models again, at most `capacity` at a time and only
 * while the device has memory for another copy; the old thread exits when its run returns. Loading
 * models never counts against a deadline. Closing cancels every model task and waits for them before
 * the threads go.
 */
import { Piscina } from "piscina";
import { BatchQueue } from "../util/batch-queue.js";
import { MovingAverage } from "../util/moving-average.js";
import type { DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import type { EvaluateOptions, Executor } from "../domain/executor.js";
import { checkDeviceMemory, roomForAnotherSlot } from "./device-memory.js";
import { evaluatorKey } from "./evaluator-key.js";
import type { ModelTask, ThreadOutcome, ThreadTask, WarmTask } from "./evaluation-thread.js";
import { cancelTask, insideNative, isLoaded, markReplaced, newControl, type TaskControl } from "./native-guard.js";
import { relayThreadLog } from "./thread-log.js";
import type { EvaluatorSpec, Flux2PickScoreSpec } from "../domain/sweep.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../domain/outcome.js";

const BATCH_MS = 2;
const MAX_BATCH = 64;
/** How long a cancelled model task may take to reach its next graph run before its thread is replaced. */
const REPLACE_AFTER_MS = 2000;
/** How often a deadline reached while the thread still loads its models looks again. */
const LOADING_POLL_MS = 250;

interface Queued {
  task: EvaluationTask;
  opts: EvaluateOptions;
  resolve: (r: EvaluationResult) => void;
  reject: (e: unknown) => void;
  /** Part of a batch that crashed or timed out: runs on its own, so only the culprit fails. */
  alone?: boolean;
}

/** The file piscina starts each thread with: CommonJS, which loads the ES module thread asynchronously (why: its header). */
export const threadEntry = new URL("./evaluation-thread-entry.cjs", import.meta.url);

export class DevicePool implements Executor {
  private readonly pool: Piscina;
  private readonly queue = new BatchQueue<Queued>();
  private threadsBusy = 0;
  private running = 0;
  /** Tasks given to threads so far (a batch is one). */
  tasks = 0;
  /** One evaluation's time on a thread; NaN until the first result. */
  private readonly latencyMs = new MovingAverage();

  /** Models loaded (and warmed) on every thread, by model key; loading never counts against a timeout. */
  private readonly prepared = new Map<string, Promise<void>>();
  /** Model tasks (loads and batches) on threads now, by their control; settled when they leave the thread. */
  private readonly modelTasks = new Map<TaskControl, Promise<unknown>>();
  /** Held-out reward model directories this device's threads may hold (memory-checked). */
  private readonly heldoutDirs = new Set<string>();
  /** Threads replaced while still inside a cancelled run, not yet out of it. */
  private stuck = 0;
  private closing = false;

  constructor(
    readonly capacity: number,
    private readonly name: string,
    private readonly device?: DeviceTarget,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.pool = new Piscina({
      filename: threadEntry.href,
      minThreads: capacity,
      // room for a replacement of every slot (a thread stuck in a cancelled run keeps its place until the run returns)
      maxThreads: 2 * capacity,
      concurrentTasksPerWorker: 1,
      // Threads holding model sessions stay: reloading a model costs seconds to minutes.
      idleTimeout: device ? Number.POSITIVE_INFINITY : 60_000,
      workerData: { device },
    });
    this.pool.on("message", relayThreadLog);
  }

  /**
   * Loads and warms a FLUX.2 model on every thread of this device, once (one warm task per thread,
   * held at a barrier so no thread takes two). Rejects with the loading error.
   */
  prepare(spec: Flux2PickScoreSpec): Promise<void> {
    const key = modelKey(spec);
    let ready = this.prepared.get(key);
    if (!ready) {
      try {
        if (this.device) checkDeviceMemory(spec, this.device, this.capacity);
      } catch (e) {
        return Promise.reject(e);
      }
      const barrier = new SharedArrayBuffer(4);
      const warm: WarmTask = { warm: spec, barrier, threads: this.capacity, control: newControl() };
      ready = Promise.all(Array.from({ length: this.capacity }, () => this.runModelTask(warm.control, warm) as Promise<{ ok: boolean; error?: string }>))
        .then((results) => {
          const failed = results.find((r) => !r.ok);
          // a model that cannot load will not load on a retry either
          if (failed) throw new EvaluationError(failed.error ?? "model loading failed", this.name, true);
        });
      this.prepared.set(key, ready);
      ready.catch(() => this.prepared.delete(key));
    }
    return ready;
  }

  /**
   * The memory check again when a task brings held-out reward models new to this device: every
   * thread keeps each one it has scored with, beside its models. Throws the check's ModelInputError.
   */
  private checkHeldout(spec: Flux2PickScoreSpec, dirs: string[]): void {
    const added = dirs.filter((d) => !this.heldoutDirs.has(d));
    if (added.length === 0) return;
    if (this.device) checkDeviceMemory(spec, this.device, this.capacity, { heldoutDirs: [...this.heldoutDirs, ...added] });
    for (const d of added) this.heldoutDirs.add(d);
  }

  /** Evaluations given to this device and not finished. */
  get busy(): number {
    return this.running + this.queue.length;
  }

  async evaluate(task: EvaluationTask, opts: EvaluateOptions): Promise<EvaluationResult> {
    if (task.evaluator.kind === "flux2-pickscore") {
      await this.prepare(task.evaluator);
      this.checkHeldout(task.evaluator, task.heldoutDirs ?? []);
    }
    return new Promise((resolve, reject) => {
      if (opts.signal.aborted) return reject(opts.signal.reason);
      this.queue.push({ task, opts, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.threadsBusy < this.capacity && this.queue.length > 0) {
      const free = this.capacity - this.threadsBusy;
      const model = batchOf(this.queue.peek()!.task.evaluator);
      void this.runBatch(this.take(model ? model.max_batch : Math.min(this.batchLimit(), Math.ceil(this.queue.length / free))));
    }
  }

  /**
   * The head of the queue and what follows it from the same stream, up to `limit`; for a model
   * evaluator, the queued candidates of the head's prompt and model settings, wherever they are.
   */
  private take(limit: number): Queued[] {
    if (this.queue.peek()!.alone) return this.queue.take(1, () => false);
    return batchOf(this.queue.peek()!.task.evaluator)
      ? this.queue.take(limit, (head, q) => !q.alone && samePaddedBatch(head.task, q.task))
      : this.queue.take(limit, (head, q) => !q.alone && q.opts.signal === head.opts.signal, true);
  }

  private batchLimit(): number {
    const latencyMs = this.latencyMs.value;
    if (Number.isNaN(latencyMs)) return 1;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_MS / latencyMs)));
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    if (batchOf(batch[0].task.evaluator)) return this.runModelBatch(batch);
    this.threadsBusy++;
    this.tasks++;
    this.running += batch.length;
    const signal = batch[0].opts.signal;
    // One controller per task, fired by the deadline or the caller's signal; cheaper than
    // AbortSignal.timeout + AbortSignal.any, which keep their listeners on a long-lived signal.
    const cancel = new AbortController();
    const onAbort = () => cancel.abort();
    let timedOut = false;
    // The deadline starts when a thread is free, so it measures running time, not queueing.
    const timeoutMs = Math.min(...batch.map((q) => q.opts.timeoutMs));
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.abort();
    }, timeoutMs);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      signal.throwIfAborted();
      const tasks = batch.map((q): ThreadTask => ({ task: q.task, evaluatorKey: evaluatorKey(q.task.evaluator) }));
      this.settle(batch, (await this.pool.run(tasks, { signal: cancel.signal })) as ThreadOutcome[]);
    } catch (e) {
      if (signal.aborted) {
        for (const q of batch) q.reject(signal.reason);
      } else if (batch.length > 1) {
        this.queue.requeue(batch.map((q) => ({ ...q, alone: true })));
      } else {
        const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : e instanceof Error ? e.message : String(e);
        batch[0].reject(new EvaluationError(why, this.name));
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      this.threadsBusy--;
      this.running -= batch.length;
      this.next();
    }
  }

  /**
   * A model batch: at its deadline or the caller's abort its candidates fail at once and its thread
   * is cancelled (not terminated); the thread's slot stays taken until the thread has stopped, or
   * until it is replaced.
   */
  private async runModelBatch(batch: Queued[]): Promise<void> {
    this.threadsBusy++;
    this.tasks++;
    this.running += batch.length;
    let slotHeld = true;
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      this.threadsBusy--;
      this.next();
    };
    const signal = batch[0].opts.signal;
    const spec = batchOf(batch[0].task.evaluator)!;
    const control = newControl();
    let settled = false;
    const giveUp = (fail: (q: Queued) => void) => {
      if (settled) return;
      settled = true;
      cancelTask(control);
      this.running -= batch.length;
      for (const q of batch) fail(q);
      this.replaceIfStuck(control, spec, freeSlot);
    };
    // A model batch runs padded to max_batch rows: it may take max_batch evaluations' time.
    const timeoutMs = Math.min(...batch.map((q) => q.opts.timeoutMs)) * spec.max_batch;
    let timer: NodeJS.Timeout | undefined;
    const deadline = () => {
      if (!isLoaded(control)) return void (timer = setTimeout(deadline, LOADING_POLL_MS));
      timer = setTimeout(() => giveUp((q) => q.reject(new EvaluationError(`timed out after ${timeoutMs / 1000} s`, this.name))), timeoutMs);
    };
    deadline();
    const onAbort = () => giveUp((q) => q.reject(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal.aborted) return onAbort();
      const task: ModelTask = { tasks: batch.map((q) => ({ task: q.task, evaluatorKey: evaluatorKey(q.task.evaluator) })), control };
      const outcomes = (await this.runModelTask(control, task)) as ThreadOutcome[];
      if (settled) return;
      settled = true;
      this.running -= batch.length;
      this.settle(batch, outcomes);
    } catch (e) {
      giveUp((q) => q.reject(new EvaluationError(e instanceof Error ? e.message : String(e), this.name)));
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      freeSlot();
    }
  }

  /**
   * A cancelled task's thread still inside onnxruntime REPLACE_AFTER_MS later: its slot goes to a
   * new thread when a replacement is allowed (fewer than `capacity` out, memory for another copy of
   * the models); the old thread exits once its run returns.
   */
  private replaceIfStuck(control: TaskControl, spec: Flux2PickScoreSpec, freeSlot: () => void): void {
    setTimeout(() => {
      const task = this.modelTasks.get(control);
      if (!task || !insideNative(control) || this.closing) return;
      const why = this.stuck >= this.capacity
        ? `${this.stuck} threads are replaced already`
        : this.device && !roomForAnotherSlot(spec, this.device, [...this.heldoutDirs])
          ? "the device has no memory for another copy of the models"
          : undefined;
      if (why) return this.log(`device ${this.name}: a cancelled batch is still inside onnxruntime; ${why}, so its slot frees when the run returns`);
      markReplaced(control);
      this.stuck++;
      this.log(`device ${this.name}: a cancelled batch is still inside onnxruntime (a graph run cannot be cut short); a new thread takes its slot, the old one exits when the run returns`);
      const replaced = performance.now();
      const out = () => {
        this.stuck--;
        this.log(`device ${this.name}: the replaced thread's run returned ${((performance.now() - replaced) / 1000).toFixed(1)} s after its replacement; that thread has exited`);
      };
      task.then(out, out);
      freeSlot();
    }, REPLACE_AFTER_MS).unref();
  }

  /** A model task on a thread, tracked until it leaves the thread. */
  private runModelTask(control: TaskControl, task: ModelTask | WarmTask): Promise<unknown> {
    if (this.closing) cancelTask(control);
    const run = this.pool.run(task);
    this.modelTasks.set(control, run);
    void run.then(() => this.modelTasks.delete(control), () => this.modelTasks.delete(control));
    return run;
  }

  private settle(batch: Queued[], outcomes: ThreadOutcome[]): void {
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (!o.ok) return q.reject(new EvaluationError(o.error, this.name));
      this.latencyMs.add(o.latencyMs);
      q.resolve({ score: o.score, latencyMs: o.latencyMs, worker: this.name, ...(o.image ? { image: o.image } : {}), ...(o.heldout ? { heldout: o.heldout } : {}) });
    });
  }

  /**
   * Cancels every model task; resolves true once no thread is inside onnxruntime any more (each
   * stops at its next call), after which the threads may be terminated, or the process exit,
   * without aborting; false when one still is after `waitMs` (inside one long run).
   */
  async halt(waitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.closing = true;
    for (const control of this.modelTasks.keys()) cancelTask(control);
    const until = performance.now() + waitMs;
    while ([...this.modelTasks.keys()].some(insideNative)) {
      if (performance.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  async close(): Promise<void> {
    await this.halt();
    await Promise.allSettled([...this.prepared.values(), ...this.modelTasks.values()]);
    await this.pool.destroy();
  }
}

function batchOf(spec: EvaluatorSpec): Flux2PickScoreSpec | undefined {
  return spec.kind === "flux2-pickscore" ? spec : undefined;
}

function modelKey(spec: Flux2PickScoreSpec): string {
  return `${spec.model_dir}|${spec.precision}|${spec.reward_dir ?? ""}`;
}

/** Two model evaluations that one padded batch can run: the same prompt, model and settings. */
function samePaddedBatch(a: EvaluationTask, b: EvaluationTask): boolean {
  const ma = batchOf(a.evaluator);
  const mb = batchOf(b.evaluator);
  return !!ma && !!mb && a.promptIndex === b.promptIndex && a.prompt === b.prompt && !!a.returnImage === !!b.returnImage
    && (a.heldoutDirs ?? []).join("\n") === (b.heldoutDirs ?? []).join("\n")
    && modelKey(ma) === modelKey(mb) && ma.height === mb.height && ma.width === mb.width && ma.steps === mb.steps
    && ma.score === mb.score && ma.max_batch === mb.max_batch;
}
