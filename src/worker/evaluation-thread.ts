/**
 * Entry of a device pool thread (piscina calls the default export once per task): evaluates a batch
 * in order, or loads and warms a model. An evaluation that throws fails alone; only a crash or a
 * timeout fails the whole task. FLUX.2 candidates of one prompt run as one model batch; a batch
 * the runtime fails is retried in halves, then one by one, except out of memory, which fails every
 * candidate at once with max_batch and the memory estimate (halves run padded to max_batch too).
 * Model work is stopped through its task's control (native-guard.ts), never by terminating the thread;
 * a thread the pool has replaced meanwhile exits once its task is out of onnxruntime.
 */
import { InferenceSession } from "onnxruntime-node";
import { workerData } from "piscina";
import { isOutOfMemory, outOfMemoryMessage } from "./device-memory.js";
import { evaluateFlux2Batch, evaluateTask, flux2Evaluator, type ThreadContext } from "./evaluate-task.js";
import { guardSessions, isCancelled, isReplaced, markLoaded, type TaskControl } from "./native-guard.js";
import { threadLog } from "./thread-log.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";
import type { EvaluationTask } from "../domain/outcome.js";

/** An evaluation as a thread receives it: the task and the key its evaluator is cached under. */
export interface ThreadTask {
  task: EvaluationTask;
  evaluatorKey: string;
}

/** FLUX.2 candidates of one prompt, with the control the pool cancels them by. */
export interface ModelTask {
  tasks: ThreadTask[];
  control: TaskControl;
}

export type ThreadOutcome = { ok: true; score: number; latencyMs: number; image?: Uint8Array; heldout?: number[] } | { ok: false; error: string };

/** Loads a model on this thread, then waits until every thread of the pool has (each takes one). */
export interface WarmTask {
  warm: Flux2PickScoreSpec;
  /** Int32 counter of threads done, shared by the pool's warm tasks */
  barrier: SharedArrayBuffer;
  threads: number;
  control: TaskControl;
}

const context: ThreadContext = {
  device: (workerData as { device?: ThreadContext["device"] } | undefined)?.device ?? { kind: "cpu", index: 0, intraOpThreads: 1 },
  log: threadLog,
};

/** The control of the model task this thread runs now (one task per thread at a time). */
let current: TaskControl | undefined;
guardSessions(InferenceSession as unknown as Parameters<typeof guardSessions>[0], () => current);

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function warm(task: WarmTask): Promise<{ ok: true } | { ok: false; error: string }> {
  const counter = new Int32Array(task.barrier);
  try {
    await flux2Evaluator(task.warm, context);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: message(e) };
  } finally {
    // Hold this thread until all have loaded, so each warm task lands on a different thread.
    Atomics.add(counter, 0, 1);
    Atomics.notify(counter, 0);
    for (let seen = Atomics.load(counter, 0); seen < task.threads; seen = Atomics.load(counter, 0)) Atomics.wait(counter, 0, seen, 1000);
  }
}

async function flux2Outcomes(tasks: EvaluationTask[], control: TaskControl): Promise<ThreadOutcome[]> {
  try {
    // a thread new to the model loads it first: the pool starts the batch's deadline once it has
    await flux2Evaluator(tasks[0].evaluator as Flux2PickScoreSpec, context);
    markLoaded(control);
    return (await evaluateFlux2Batch(tasks, context)).map((r) => ({ ok: true, ...r }));
  } catch (e) {
    // every part of a batch runs padded to max_batch: out of memory once, out of memory in halves
    if (isOutOfMemory(message(e)) && !isCancelled(control)) {
      const error = outOfMemoryMessage(tasks[0].evaluator as Flux2PickScoreSpec, context.device, message(e));
      return tasks.map(() => ({ ok: false, error }));
    }
    if (tasks.length === 1 || isCancelled(control)) return tasks.map(() => ({ ok: false, error: message(e) }));
    const half = Math.ceil(tasks.length / 2);
    return [...(await flux2Outcomes(tasks.slice(0, half), control)), ...(await flux2Outcomes(tasks.slice(half), control))];
  }
}

/** Runs a model task under its control: cancelled, its next onnxruntime call throws. */
async function underControl<T>(control: TaskControl, run: () => Promise<T>): Promise<T> {
  current = control;
  try {
    return await run();
  } finally {
    current = undefined;
  }
}

export default async function evaluateBatch(tasks: ThreadTask[] | ModelTask | WarmTask): Promise<ThreadOutcome[] | { ok: boolean; error?: string }> {
  if ("warm" in tasks) return underControl(tasks.control, () => warm(tasks));
  if (!Array.isArray(tasks)) {
    const outcomes = await underControl(tasks.control, () => flux2Outcomes(tasks.tasks.map((t) => t.task), tasks.control));
    // another thread has this one's slot and models: leave, freeing this copy (piscina keeps its minimum of threads)
    if (isReplaced(tasks.control)) process.exit(0);
    return outcomes;
  }
  const outcomes: ThreadOutcome[] = [];
  for (const { task, evaluatorKey } of tasks) {
    try {
      const { score, latencyMs } = await evaluateTask(task, evaluatorKey);
      outcomes.push({ ok: true, score, latencyMs });
    } catch (e) {
      outcomes.push({ ok: false, error: message(e) });
    }
  }
  return outcomes;
}
