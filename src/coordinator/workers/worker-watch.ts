/**
 * Nothing waits forever for a worker: once no worker has been up for the run's --worker-wait (a
 * local worker that cannot be restarted, named workers all gone), the watch says so, naming what
 * each worker last said, and the run stops (or, rendering best images, stops rendering).
 */

export interface WatchedWorkers {
  /** Slots of the workers up now. */
  readonly capacity: number;
  /** Each worker's state and last error, in a line. */
  states(): string;
}

/** Calls `gone` once when no worker has been up for `waitMs`; returns the function that stops watching. */
export function watchWorkers(workers: WatchedWorkers, waitMs: number, gone: (why: string) => void): () => void {
  let lastUp = Date.now();
  const timer = setInterval(() => {
    if (workers.capacity > 0) {
      lastUp = Date.now();
    } else if (Date.now() - lastUp >= waitMs) {
      clearInterval(timer);
      gone(`no worker was up for ${waitMs / 1000} s (--worker-wait): ${workers.states()}`);
    }
  }, Math.max(50, Math.min(1000, waitMs / 4)));
  return () => clearInterval(timer);
}
