/**
 * Recording: every finished evaluation becomes one row of evaluations.csv as it comes (in
 * eval_index order per search, search-runner.ts), with its search's best score so far, and is
 * counted in the manifest.
 */
import path from "node:path";
import type { SearchPlan } from "../plan/plan.js";
import { EvaluationLog, type EvaluationRow } from "../results/evaluations-csv.js";
import type { Manifest } from "../results/manifest.js";
import type { RecordedOutcome } from "./search-runner.js";
import { isNewBest } from "../results/best-score.js";

export class RunRecorder {
  readonly log: EvaluationLog;
  /** search_id -> best score so far (a resumed run continues the recorded ones). */
  private readonly bestSoFar: Map<string, number>;

  /** `onWriteFailure`: the file cannot be written (a full disk); nothing more is written after it. */
  constructor(runDir: string, private readonly runId: string, private readonly counts: Manifest["counts"], bestSoFar: ReadonlyMap<string, number>, onWriteFailure: (e: Error) => void) {
    this.bestSoFar = new Map(bestSoFar);
    this.log = new EvaluationLog(path.join(runDir, "evaluations.csv"), onWriteFailure);
  }

  record(search: SearchPlan, r: RecordedOutcome): EvaluationRow {
    const row = this.row(search, r);
    this.log.append([row]);
    this.counts.evaluations++;
    if (row.status === "error") this.counts.errors++;
    return row;
  }

  private row(search: SearchPlan, r: RecordedOutcome): EvaluationRow {
    const { candidate, outcome } = r;
    let best = this.bestSoFar.get(search.searchId) ?? null;
    if (outcome.status === "ok" && isNewBest(outcome.score, best)) {
      best = outcome.score;
      this.bestSoFar.set(search.searchId, best);
    }
    return {
      run_id: this.runId,
      search_id: search.searchId,
      prompt_index: search.promptIndex,
      prompt: search.prompt,
      strategy: search.strategy.label,
      seed: search.seed,
      budget: search.budget,
      eval_index: candidate.evalIndex,
      generation: candidate.generation,
      noise_seed: candidate.noiseSeed,
      score: outcome.status === "ok" ? outcome.score : null,
      best_so_far: best,
      status: outcome.status,
      error: outcome.status === "error" ? outcome.error : "",
      worker: outcome.worker,
      latency_ms: outcome.latencyMs,
      finished_at: new Date().toISOString(),
      attempts: outcome.attempts,
    };
  }
}
