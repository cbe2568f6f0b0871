/**
 * `sweep render --run RUN --best`: the best images a run could not render (its workers were gone,
 * say), rendered by workers as the run renders them (a local worker, or the ones named), into the
 * run's best/; the images already there are kept. The run folder is locked meanwhile.
 */
import path from "node:path";
import { planSweep } from "../plan/plan.js";
import { generateReport } from "../report/generate.js";
import { EVALUATIONS_FILE } from "../results/evaluations-csv.js";
import { readRunManifest } from "../results/manifest.js";
import { RunLock } from "../results/run-lock.js";
import type { BestFiles } from "../results/write-best-files.js";
import { InputError } from "../domain/input-error.js";
import { writeBestCandidates } from "./derive.js";
import { Dispatcher } from "./dispatcher.js";
import { evaluatorBatch } from "./scheduling/policy.js";
import { connectWorkers, workerSource } from "./workers/run-workers.js";
import { watchWorkers } from "./workers/worker-watch.js";

export interface RenderBestOptions {
  workers?: string[];
  workersFile?: string;
  token?: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  threads?: number;
  /** Model root of the local worker (default: the run's, from its manifest, else its config's folder). */
  modelRoot?: string;
  cliEntry: string;
  /** Seconds without any worker up before rendering stops. */
  workerWait?: number;
  log: (line: string) => void;
}

export async function renderBestImages(runDir: string, opts: RenderBestOptions): Promise<BestFiles> {
  const manifest = readRunManifest(runDir);
  const sweep = manifest.config;
  if (sweep.evaluator.kind !== "flux2-pickscore") throw new InputError(`${runDir} was scored by the ${sweep.evaluator.kind} evaluator, which makes no images`, "--best");
  const source = workerSource(sweep, { ...opts, modelRoot: opts.modelRoot ?? manifest.model_root });
  const lock = RunLock.acquire(runDir, opts.log);
  try {
    const workers = await connectWorkers(source, { token: opts.token, tls: opts.tls, evaluator: sweep.evaluator.kind, batch: evaluatorBatch(sweep.evaluator), log: opts.log });
    const stop = new AbortController();
    const waitMs = (opts.workerWait ?? 60) * 1000;
    const unwatch = watchWorkers(workers.executor, waitMs, (why) => {
      opts.log(`${why}; stopping`);
      stop.abort();
    });
    try {
      await workers.executor.waitForWorkers(waitMs);
      const dispatcher = new Dispatcher(workers.executor, { timeoutMs: sweep.execution.timeout_s * 1000, retries: sweep.execution.retries, stop: stop.signal });
      const ctx = { runDir, runId: manifest.run_id, plan: planSweep(sweep), evaluations: path.join(runDir, EVALUATIONS_FILE), log: opts.log };
      const best = await writeBestCandidates(ctx, sweep.evaluator, dispatcher);
      // the report's gallery shows the images now there
      await generateReport(runDir);
      return best;
    } finally {
      unwatch();
      await workers.close();
    }
  } finally {
    lock.release();
  }
}
