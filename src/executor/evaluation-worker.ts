/**
 * Entry of a device pool thread (piscina calls the default export once per task): evaluates a batch
 * in order. An evaluation that throws fails alone; only a crash or a timeout fails the whole task.
 */
import type { EvaluationTask } from "./executor.js";
import { evaluateTask } from "./evaluate-task.js";

export type ThreadOutcome = { ok: true; score: number; latencyMs: number } | { ok: false; error: string };

export default async function evaluateBatch(tasks: EvaluationTask[]): Promise<ThreadOutcome[]> {
  const outcomes: ThreadOutcome[] = [];
  for (const task of tasks) {
    try {
      const { score, latencyMs } = await evaluateTask(task);
      outcomes.push({ ok: true, score, latencyMs });
    } catch (e) {
      outcomes.push({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return outcomes;
}
