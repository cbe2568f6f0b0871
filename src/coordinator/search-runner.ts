/**
 * Runs one search: ask the strategy, dispatch its candidates, and hand results back in eval_index
 * order (to the strategy and to the recorder), so rows, best_so_far and SES updates never depend on
 * which evaluation happened to finish first.
 */
import type { SearchPlan } from "../plan/plan.js";
import { recordedAt, type RecordedEvaluation, type SearchRecord } from "../results/search-records.js";
import { createStrategy } from "../strategies/registry.js";
import type { Dispatcher, Outcome } from "./dispatcher.js";
import type { EvaluatorSpec } from "../domain/sweep.js";
import type { Candidate } from "../domain/candidate.js";

export interface RecordedOutcome {
  candidate: Candidate;
  outcome: Exclude<Outcome, { status: "cancelled" }>;
}

export interface SearchResult {
  searchId: string;
  status: "completed" | "failed" | "interrupted";
  error?: string;
  evaluations: number;
}


export interface SearchRunOptions {
  dispatcher: Dispatcher;
  evaluator: EvaluatorSpec;
  /** Candidates of one search in flight at most (read at every ask). */
  window: () => number;
  /** What this search recorded before (a resumed run replays it instead of dispatching). */
  prior?: SearchRecord;
  stop: AbortSignal;
  /** Called in eval_index order for every finished evaluation. */
  record: (search: SearchPlan, r: RecordedOutcome) => void;
}

export async function runSearch(search: SearchPlan, opts: SearchRunOptions): Promise<SearchResult> {
  // Candidates are let go once recorded and told (the in-order loop below), so a strategy may reuse their memory.
  const strategy = createStrategy(search.strategy, { seed: search.seed, budget: search.budget, shape: opts.evaluator.shape, recycleRecipes: true });
  const finished = new Map<number, { candidate: Candidate; outcome: Outcome | RecordedEvaluation; replayed?: boolean }>();
  let inFlight = 0;
  let nextToRecord = 0;
  let recorded = 0;
  let failure: string | undefined;
  let cancelled = false;
  let wake: (() => void) | undefined;
  let thrown: unknown;

  for (;;) {
    // after recording what finished before it
    if (thrown !== undefined) throw thrown;
    if (!failure && !opts.stop.aborted) {
      for (const candidate of strategy.ask(Math.max(1, opts.window()) - inFlight)) {
        const prior = opts.prior && recordedAt(opts.prior, candidate.evalIndex);
        if (prior && prior.noiseSeed !== candidate.noiseSeed) {
          throw new Error(`${search.searchId} eval ${candidate.evalIndex}: recorded noise_seed ${prior.noiseSeed} but the strategy asks ${candidate.noiseSeed}; the recorded run was made differently`);
        }
        // A recorded failure is evaluated again: resuming retries a failed search from there.
        if (prior?.status === "ok") {
          finished.set(candidate.evalIndex, { candidate, outcome: prior, replayed: true });
          continue;
        }
        inFlight++;
        const task = { evaluator: opts.evaluator, prompt: search.prompt, promptIndex: search.promptIndex, recipe: candidate.recipe };
        opts.dispatcher.evaluate(task).then((outcome) => {
          finished.set(candidate.evalIndex, { candidate, outcome });
          inFlight--;
          wake?.();
        }, (e: unknown) => {
          // Not an evaluation's failure (those are outcomes): the run cannot go on; the search says so.
          thrown ??= e;
          inFlight--;
          wake?.();
        });
      }
    }
    if (inFlight === 0 && !finished.has(nextToRecord)) break;
    if (!finished.has(nextToRecord)) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    for (let done = finished.get(nextToRecord); done; done = finished.get(nextToRecord)) {
      finished.delete(nextToRecord);
      nextToRecord++;
      const { candidate, outcome, replayed } = done;
      if (outcome.status === "cancelled") {
        cancelled = true;
        continue;
      }
      if (cancelled) continue;
      if (!replayed) opts.record(search, { candidate, outcome: outcome as RecordedOutcome["outcome"] });
      recorded++;
      if (outcome.status === "error") failure ??= `eval ${candidate.evalIndex}: ${outcome.error}`;
      else if (!failure) strategy.tell(candidate.evalIndex, outcome.score!);
    }
  }
  if (!failure && !opts.stop.aborted && !strategy.exhausted) {
    throw new Error(`internal: search ${search.searchId} stalled at eval ${nextToRecord} with nothing in flight`);
  }
  const status = failure ? "failed" : recorded < search.budget ? "interrupted" : "completed";
  return { searchId: search.searchId, status, error: failure, evaluations: recorded };
}
