/**
 * A search whose dispatch fails for a reason that is not an evaluation's (the executor closed, a
 * worker lacks the model) must end with that error, not leave an unhandled rejection behind and
 * wait forever for a result that never comes.
 */
import { expect, test } from "vitest";
import type { EvaluateOptions, Executor } from "../src/domain/executor.js";
import type { SearchPlan } from "../src/plan/plan.js";
import { Dispatcher } from "../src/coordinator/dispatcher.js";
import { runSearch } from "../src/coordinator/search-runner.js";
import type { EvaluatorSpec } from "../src/domain/sweep.js";
import type { EvaluationResult, EvaluationTask } from "../src/domain/outcome.js";

class ClosingExecutor implements Executor {
  readonly capacity = 4;
  calls = 0;
  async evaluate(_task: EvaluationTask, _opts: EvaluateOptions): Promise<EvaluationResult> {
    this.calls++;
    if (this.calls > 3) throw new Error("executor closed");
    return { score: this.calls, latencyMs: 0, worker: "test" };
  }
  async close(): Promise<void> {}
}

test("a dispatch error that is not an evaluation's fails the search with it", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const evaluator: EvaluatorSpec = { kind: "noop", shape: [1, 4, 8, 8] };
    const search: SearchPlan = { searchId: "p0/random/s0", promptIndex: 0, prompt: "a", strategy: { name: "random", label: "random" }, seed: 0, budget: 10, trialBudgets: [10] };
    const stop = new AbortController();
    const dispatcher = new Dispatcher(new ClosingExecutor(), { timeoutMs: 1000, retries: 0, stop: stop.signal });
    const recorded: number[] = [];
    const run = runSearch(search, { dispatcher, evaluator, window: () => 2, stop: stop.signal, record: (_s, r) => recorded.push(r.candidate.evalIndex) });
    const outcome = await Promise.race([run.then(() => "resolved", (e: Error) => e.message), new Promise((r) => setTimeout(() => r("hung"), 3000))]);
    expect(outcome).toBe("executor closed");
    expect(recorded).toEqual([0, 1, 2]);
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
