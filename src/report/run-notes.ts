/**
 * What a reader must know about how a run's scores were made: the evaluator in one line, and
 * warnings when they came from a synthetic model or from devices of different kinds.
 */
import { hostname } from "node:os";
import type { Manifest } from "../results/manifest.js";
import { describeOwner, lockHolder } from "../results/run-lock.js";
import type { EvaluatorSpec } from "../domain/sweep.js";

/**
 * Who holds the run folder's lock (another coordinator still writing it), or null. The coordinator
 * writing its own report at the end of its run holds the lock too: that run is not in progress.
 */
export function inProgress(runDir: string): string | null {
  const owner = lockHolder(runDir);
  if (!owner || (owner.pid === process.pid && owner.host === hostname())) return null;
  return describeOwner(owner);
}

interface DescribedWorker {
  address?: string;
  completed?: number;
  devices?: { id: string; execution_provider?: string; runtime?: string; name?: string }[];
  models?: { name: string; synthetic?: string }[];
}

export function evaluatorLine(e: EvaluatorSpec): string {
  if (e.kind === "flux2-pickscore") {
    const reward = e.reward ? `, optimised reward ${e.reward}` : "";
    const heldout = e.heldout && e.heldout.length > 0 ? `, held-out rewards ${e.heldout.join(", ")}` : "";
    return `Evaluator: flux2-pickscore, model ${e.model}${reward}, ${e.height}x${e.width}, ${e.steps} steps, score ${e.score === "cosine" ? "cosine (the tutorial's)" : "logit (x exp(logit_scale))"}, precision ${e.precision}${heldout}.`;
  }
  return `Evaluator: ${e.kind}, noise shape [${e.shape.join(", ")}].`;
}

export function runWarnings(manifest: Manifest): string[] {
  const workers = manifest.executor.workers as DescribedWorker[];
  const warnings: string[] = [];
  const synthetic = new Set(workers.flatMap((w) => (w.models ?? []).filter((m) => m.synthetic).map((m) => `${m.name} (${m.synthetic})`)));
  if (synthetic.size > 0) {
    warnings.push(`Scores come from synthetic models with random weights: ${[...synthetic].join(", ")}. They measure the runner and throughput, not image quality.`);
  }
  const kinds = new Set(workers.filter((w) => (w.completed ?? 0) > 0).flatMap((w) => (w.devices ?? [])
    .filter((d) => d.execution_provider)
    .map((d) => `${d.execution_provider} / ${d.runtime} / ${d.name}`)));
  if (kinds.size > 1) {
    warnings.push(`This run mixed devices of different kinds (${[...kinds].join("; ")}): a candidate's score may differ in its last digits with the device that computed it.`);
  }
  return warnings;
}
