/**
 * What evaluation threads say (a truncated prompt's notice): every thread loads its own evaluator
 * and would say the same line once per thread, so a thread posts its lines to the main thread
 * (piscina emits them as the pool's "message" events), which writes each distinct line once per
 * worker process, whichever thread or device said it.
 */
import { isMainThread, parentPort } from "node:worker_threads";

/** The key a thread's line travels under, beside piscina's own messages. */
const LINE = "sweepThreadLog";

const said = new Set<string>();

function sayOnce(line: string): void {
  if (said.has(line)) return;
  said.add(line);
  process.stderr.write(`${line}\n`);
}

/** A line from an evaluation thread (or from the main thread, where an evaluator runs there). */
export function threadLog(line: string): void {
  if (isMainThread || !parentPort) sayOnce(line);
  else parentPort.postMessage({ [LINE]: line });
}

/** The pool's "message" listener: writes a thread's line unless it was said already. */
export function relayThreadLog(message: unknown): void {
  const line = (message as Record<string, unknown> | null)?.[LINE];
  if (typeof line === "string") sayOnce(line);
}
