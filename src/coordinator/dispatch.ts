/**
 * Dispatch: the plan's searches run concurrently, each asking its strategy for candidates and
 * sending them through the dispatcher (retries) to the workers; finished evaluations go to
 * `record` in eval_index order. A resumed search replays what it recorded instead of sending it.
 */
import type { SearchPlan } from "../plan/plan.js";
import type { SearchRecord } from "../results/search-records.js";
import type { Dispatcher } from "./dispatcher.js";
import { concurrentSearches, searchWindow } from "./scheduling/policy.js";
import { runSearch, type RecordedOutcome, type SearchResult } from "./search-runner.js";
import type { EvaluatorSpec } from "../domain/sweep.js";

/** What the policy reads of the workers, at every step: slots up, and candidates they want in flight. */
export interface WorkerDemand {
  readonly capacity: number;
  readonly wanted: number;
}

export interface DispatchOptions {
  dispatcher: Dispatcher;
  workers: WorkerDemand;
  evaluator: EvaluatorSpec;
  stop: AbortSignal;
  record: (search: SearchPlan, r: RecordedOutcome) => void;
  /** What each search recorded before (search_id -> record), when resuming. */
  prior?: ReadonlyMap<string, SearchRecord>;
}

export async function dispatchSearches(searches: SearchPlan[], opts: DispatchOptions): Promise<SearchResult[]> {
  const { workers } = opts;
  let active = 0;
  const window = () => searchWindow(workers.capacity, workers.wanted, active);
  return runConcurrently(searches, () => concurrentSearches(workers.capacity), async (search) => {
    active++;
    try {
      return await runSearch(search, { dispatcher: opts.dispatcher, evaluator: opts.evaluator, window, stop: opts.stop, record: opts.record, prior: opts.prior?.get(search.searchId) });
    } finally {
      active--;
    }
  });
}

/** Runs `fn` over `items` with at most `limit()` at once, results in input order. */
async function runConcurrently<T, R>(items: T[], limit: () => number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let active = 0;
  return new Promise((resolve, reject) => {
    const launch = () => {
      if (next >= items.length && active === 0) return resolve(results);
      while (next < items.length && active < limit()) {
        const i = next++;
        active++;
        fn(items[i]).then((r) => {
          results[i] = r;
          active--;
          launch();
        }, reject);
      }
    };
    launch();
  });
}
