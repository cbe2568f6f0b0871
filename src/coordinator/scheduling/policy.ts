/**
 * The coordinator's scheduling policy, as pure functions of what it knows (capacities, latencies,
 * free room, queue length): how much each worker gets in flight, when it is refilled and in which
 * order, which candidates travel together, and how many searches run at once. The gRPC links
 * (grpc-executor.ts) apply it; docs/protocol.md ("Flow control and backpressure") describes it.
 */
import type { EvaluationTask } from "../../domain/outcome.js";
import type { EvaluatorSpec } from "../../domain/sweep.js";

/**
 * Evaluation time kept queued on a worker per slot, beyond the one running: the next candidates
 * wait on the worker, not a network round trip away. Cheap evaluations thus travel (and run on the
 * worker's threads) in large batches; costly ones keep the minimum depth of 2, so the end of a run
 * and a lost worker leave little work stranded.
 */
export const QUEUED_WORK_MS = 10;
export const MIN_DEPTH = 2;
export const MAX_DEPTH = 64;

/**
 * Candidates a worker should have in flight: QUEUED_WORK_MS of work per slot by the moving average
 * of its latency (NaN until its first result), between MIN_DEPTH and MAX_DEPTH per slot. A worker
 * that runs candidates in padded batches of `batch` gets at least MIN_DEPTH whole batches per slot
 * (one running, one waiting): with fewer, its batches would run part empty at full cost.
 */
export function linkWindow(capacity: number, latencyMs: number, batch = 1): number {
  const depth = Number.isNaN(latencyMs) ? MIN_DEPTH : Math.ceil(QUEUED_WORK_MS / Math.max(latencyMs, 1e-3));
  return capacity * Math.max(MIN_DEPTH * batch, Math.min(MAX_DEPTH, Math.max(MIN_DEPTH, depth)));
}

/** Candidates a worker runs together for this evaluator (FLUX.2: max_batch, padded); 1 for the others. */
export function evaluatorBatch(spec: EvaluatorSpec): number {
  return spec.kind === "flux2-pickscore" ? spec.max_batch : 1;
}

/** A worker is refilled once a quarter of its window is free (one at a time for shallow windows). */
export function refillMark(window: number): number {
  return Math.max(1, Math.floor(window / 4));
}

/** What the policy needs to know of a worker link to fill it. */
export interface LinkRoom {
  /** Candidates it may still take now (0 while it is down or its stream is full). */
  free: number;
  /** Its refill mark. */
  refillAt: number;
}

/**
 * The links to fill now, largest free room first: those with room for a batch of their refill
 * mark, or for all that is queued. A link below its mark still has work in flight; its next result
 * brings it back here.
 */
export function linksToFill<L extends LinkRoom>(links: Iterable<L>, queued: number): L[] {
  const ready: L[] = [];
  for (const l of links) if (l.free > 0 && l.free >= Math.min(l.refillAt, queued)) ready.push(l);
  return ready.sort((a, b) => b.free - a.free);
}

/**
 * Candidates that may travel in one request: the same prompt (a worker reuses its embeddings), the
 * same evaluator and the same image request.
 */
export function sameBatch(head: EvaluationTask, task: EvaluationTask): boolean {
  return task.promptIndex === head.promptIndex && task.evaluator === head.evaluator && !!task.returnImage === !!head.returnImage
    && (task.heldout ?? []).join("\n") === (head.heldout ?? []).join("\n");
}

/**
 * Searches running at once. Searches hold strategy state (SES: about 140 KB each), so only enough
 * run at once to keep every slot busy.
 */
export function concurrentSearches(capacity: number): number {
  return Math.max(32, 4 * capacity);
}

/**
 * Candidates one search keeps in flight: together the running searches' windows hold twice what
 * the workers want in flight, so the queue always has a full batch ready; at least one per slot.
 */
export function searchWindow(capacity: number, wanted: number, activeSearches: number): number {
  return Math.max(capacity, Math.ceil((2 * wanted) / Math.max(1, activeSearches)));
}
