/**
 * The coordinator (`sweep run`): plans the sweep, runs every search concurrently on an executor,
 * records each evaluation in evaluations.csv as it finishes, then derives trials.csv from that file.
 */
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import type { Sweep } from "../config/load.js";
import { LocalPool } from "../executor/local-pool.js";
import type { Executor } from "../executor/executor.js";
import { planSweep, type SearchPlan } from "../plan/plan.js";
import { summarise, summaryTable } from "../report/summary.js";
import { EvaluationLog, readEvaluations, type EvaluationRow } from "../results/evaluations-csv.js";
import { writeManifest, type Manifest, type RunStatus } from "../results/manifest.js";
import { createRunDir, newRunId } from "../results/run-dir.js";
import { deriveTrials, writeTrials } from "../results/trials.js";
import { VERSION } from "../version.js";
import { Dispatcher } from "./dispatcher.js";
import { Progress } from "./progress.js";
import { runSearch, type RecordedOutcome, type SearchResult } from "./search-runner.js";

export interface RunOptions {
  runDir?: string;
  threads?: number;
  /** Where the summary goes (stdout); progress and logs go to stderr. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WriteStream;
  /** Seconds between progress lines when stderr is not a terminal. */
  logEvery?: number;
}

export interface RunOutcome {
  runDir: string;
  status: RunStatus;
  exitCode: number;
}

export async function runSweep(sweep: Sweep, opts: RunOptions = {}): Promise<RunOutcome> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const plan = planSweep(sweep);
  const runId = newRunId();
  const runDir = opts.runDir ?? path.join(sweep.output, sweep.name, runId);
  createRunDir(runDir);
  const threads = opts.threads ?? sweep.threads ?? availableParallelism();
  const started = new Date();
  const manifest: Manifest = {
    tool: "sweep",
    version: VERSION,
    run_id: runId,
    name: sweep.name,
    status: "running",
    config_file: sweep.source.file,
    overrides: sweep.source.overrides,
    fingerprint: sweep.fingerprint,
    config: sweep,
    started_at: started.toISOString(),
    finished_at: null,
    duration_s: null,
    executor: { kind: "local-threads", threads },
    host: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length },
    plan: { searches: plan.searches.length, trials: plan.trials, evaluations: plan.evaluations },
    counts: { evaluations: 0, errors: 0 },
    failed_searches: [],
  };
  writeManifest(runDir, manifest);
  err.write(`sweep ${sweep.name}: ${plan.searches.length} searches, ${plan.trials} trials, ${plan.evaluations} evaluations on ${threads} threads -> ${runDir}\n`);

  const log = new EvaluationLog(path.join(runDir, "evaluations.csv"));
  const executor: Executor = new LocalPool(threads);
  const stopper = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopper.signal.aborted) process.exit(130);
    err.write(`\n${signal}: stopping; evaluations in flight are dropped, recorded ones are kept (again to force)\n`);
    stopper.abort();
  };
  const stopSignals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of stopSignals) process.on(s, onSignal);

  const perStrategy = new Map<string, number>();
  for (const s of plan.searches) perStrategy.set(s.strategy.label, (perStrategy.get(s.strategy.label) ?? 0) + s.budget);
  const progress = new Progress({ total: plan.evaluations, perStrategy, stream: err, logEvery: opts.logEvery });
  const bestSoFar = new Map<string, number>();
  const record = (search: SearchPlan, r: RecordedOutcome) => {
    const row = evaluationRow(runId, search, r, bestSoFar);
    log.append([row]);
    manifest.counts.evaluations++;
    if (row.status === "error") manifest.counts.errors++;
    progress.evaluated(search.strategy.label, row.status === "ok");
  };
  const dispatcher = new Dispatcher(executor, {
    timeoutMs: sweep.evaluator.timeout_s * 1000,
    retries: sweep.evaluator.retries,
    stop: stopper.signal,
  });

  let results: SearchResult[];
  try {
    results = await Promise.all(plan.searches.map((search) => runSearch(search, {
      dispatcher, evaluator: sweep.evaluator, window: executor.capacity, stop: stopper.signal, record,
    })));
  } finally {
    progress.stop();
    for (const s of stopSignals) process.off(s, onSignal);
    await executor.close();
    log.close();
  }

  const trials = deriveTrials(runId, plan, readEvaluations(log.file));
  writeTrials(path.join(runDir, "trials.csv"), trials);
  const failed = results.filter((r) => r.status === "failed");
  const status: RunStatus = stopper.signal.aborted ? "interrupted" : failed.length > 0 ? "failed" : "completed";
  const finished = new Date();
  Object.assign(manifest, {
    status,
    finished_at: finished.toISOString(),
    duration_s: (finished.getTime() - started.getTime()) / 1000,
    failed_searches: failed.map((r) => ({ search_id: r.searchId, error: r.error ?? "" })),
  });
  writeManifest(runDir, manifest);

  out.write(`\n${summaryTable(summarise(trials))}\n\nResults: ${runDir}\n`);
  if (failed.length > 0) {
    err.write(`\n${failed.length} of ${results.length} searches failed:\n`);
    for (const f of failed.slice(0, 20)) err.write(`  ${f.searchId}: ${f.error}\n`);
    if (failed.length > 20) err.write(`  ... and ${failed.length - 20} more (manifest.json lists them all)\n`);
  }
  if (status === "interrupted") err.write(`Run interrupted; ${manifest.counts.evaluations} evaluations recorded in ${runDir}\n`);
  return { runDir, status, exitCode: status === "completed" ? 0 : status === "failed" ? 1 : 130 };
}

function evaluationRow(runId: string, search: SearchPlan, r: RecordedOutcome, bestSoFar: Map<string, number>): EvaluationRow {
  const { candidate, outcome } = r;
  let best = bestSoFar.get(search.searchId) ?? null;
  if (outcome.status === "ok" && (best === null || outcome.score > best)) {
    best = outcome.score;
    bestSoFar.set(search.searchId, best);
  }
  return {
    run_id: runId,
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
