/**
 * Stopping a thread that runs onnxruntime. Terminating a worker thread while it is inside a native
 * onnxruntime call aborts the whole process ("terminate called after throwing an instance of
 * 'Napi::Error'", exit 134) once the call returns into the dying thread. So a model task is never
 * terminated: the pool cancels it through a control block shared with its thread, and the thread
 * refuses every onnxruntime call (session create or run) from then on, failing the task at the next
 * graph run. Each call is counted while it runs, so the pool knows when no thread is inside
 * onnxruntime and the process may exit. This guards the sessions, whatever pipeline drives them.
 * A cancelled run cannot be cut short (onnxruntime-node has no way in): a thread still inside one
 * is replaced by the pool, and exits once the run returns.
 */

/**
 * [0]: cancelled (1), [1]: onnxruntime calls running now, [2]: the thread has the task's models
 * loaded (1), [3]: replaced: the thread exits when the task ends (1). One per task, shared with its thread.
 */
export type TaskControl = Int32Array;

const CANCELLED = 0;
const INSIDE = 1;
const LOADED = 2;
const REPLACED = 3;

export function newControl(): TaskControl {
  return new Int32Array(new SharedArrayBuffer(16));
}

/** Thread side: the task's models are loaded; its running time starts now (loading never counts against a deadline). */
export function markLoaded(control: TaskControl): void {
  Atomics.store(control, LOADED, 1);
}

export function isLoaded(control: TaskControl): boolean {
  return Atomics.load(control, LOADED) === 1;
}

/** Pool side: another thread has the task's slot; this one is to exit once its run returns. */
export function markReplaced(control: TaskControl): void {
  Atomics.store(control, REPLACED, 1);
}

export function isReplaced(control: TaskControl): boolean {
  return Atomics.load(control, REPLACED) === 1;
}

export function cancelTask(control: TaskControl): void {
  Atomics.store(control, CANCELLED, 1);
}

export function isCancelled(control: TaskControl): boolean {
  return Atomics.load(control, CANCELLED) === 1;
}

/** Whether the task's thread is inside an onnxruntime call now (terminating it there would abort the process). */
export function insideNative(control: TaskControl): boolean {
  return Atomics.load(control, INSIDE) > 0;
}

/** The error a cancelled task's onnxruntime calls throw. */
export class TaskCancelledError extends Error {
  constructor() {
    super("cancelled");
  }
}

interface SessionClass {
  prototype: { run: (...args: unknown[]) => Promise<unknown> };
  create: (...args: unknown[]) => Promise<unknown>;
}

/**
 * Thread side: wraps the session class's `run` and `create` so each call checks the current task's
 * control and is counted while it runs. `current` gives the control of the task this thread runs.
 */
export function guardSessions(sessions: SessionClass, current: () => TaskControl | undefined): void {
  const guarded = <A extends unknown[], R>(call: (this: unknown, ...args: A) => Promise<R>) => async function (this: unknown, ...args: A): Promise<R> {
    const control = current();
    if (!control) return call.apply(this, args);
    // Counted before the check: the pool sets the flag, then reads the count, so one of the two sees the other.
    Atomics.add(control, INSIDE, 1);
    try {
      if (isCancelled(control)) throw new TaskCancelledError();
      return await call.apply(this, args);
    } finally {
      Atomics.sub(control, INSIDE, 1);
    }
  };
  sessions.prototype.run = guarded(sessions.prototype.run);
  sessions.create = guarded(sessions.create);
}
