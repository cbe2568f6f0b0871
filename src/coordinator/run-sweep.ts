/**
 * The coordinator (`sweep run`): one run's lifecycle, step by step. Prepare the run folder (new or
 * resumed), connect the workers, dispatch the searches, record each evaluation in evaluations.csv
 * as it finishes, derive trials.csv (and best/) from that file, then report. Stopping is the
 * caller's: it aborts `stop` (the CLI does on a signal) and the run ends interrupted, resumable.
 */
import { planSweep, type Plan } from "../plan/plan.js";
import { generateReport } from "../report/generate.js";
import { pivotText } from "../report/sections.js";
import { summarise, summaryTable } from "../report/summary.js";
import { writeManifest, type Manifest, type RunStatus } from "../results/manifest.js";
import type { BestFiles } from "../results/write-best-files.js";
import { writeBestCandidates, writeTrialsFile, type DeriveContext } from "./derive.js";
import { dispatchSearches } from "./dispatch.js";
import { Dispatcher, FatalEvaluationError } from "./dispatcher.js";
import { NoWorkersError, WorkersRefusedError } from "./links/grpc-executor.js";
import { RunMessages } from "./messages.js";
import { planProgress } from "./progress.js";
import { RunRecorder } from "./record.js";
import { printedResumeCommand, renderBestCommand } from "./resume-command.js";
import { prepareRunFolder, reserveSpace, type RunFolder } from "./run-folder.js";
import type { SearchResult } from "./search-runner.js";
import { connectWorkers, workerSource, type RunWorkers } from "./workers/run-workers.js";
import { watchWorkers } from "./workers/worker-watch.js";
import type { Sweep } from "../domain/sweep.js";
import { evaluatorBatch } from "./scheduling/policy.js";
import { recipeFeatures } from "../grpc/wire.js";

export interface RunOptions {
  runDir?: string;
  /** Threads of the local worker (when no workers are named). */
  threads?: number;
  workers?: string[];
  workersFile?: string;
  token?: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  resume?: string;
  force?: boolean;
  /** Aborted to stop the run: evaluations in flight are dropped, the run ends interrupted (resumable). */
  stop?: AbortSignal;
  /** Where the summary goes (stdout); progress and logs go to stderr. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WriteStream;
  logEvery?: number;
  /** Seconds without any worker up (at the start or later) before the run stops. */
  workerWait?: number;
  /** Model root of the local worker (default: the config's folder) */
  modelRoot?: string;
  /** The script that runs the sweep CLI (bin/sweep.js), which starts the local worker when no workers are named. */
  cliEntry: string;
  /** Flags the printed resume command repeats to reach the same workers (--workers, --tls-ca, --threads ...). */
  resumeFlags?: string[];
  /** Count the protobuf bytes on the wire into manifest.json (benchmarks). */
  measureWire?: boolean;
}

export interface RunOutcome {
  runDir: string;
  status: RunStatus;
  /**
   * Why the run ended early, when something did end it: no worker came up, the workers refused it
   * or lack its model (both InputErrors: a setup mistake), or evaluations.csv could not be written.
   * Absent when it completed, when searches failed, and when `stop` interrupted it.
   */
  error?: Error;
}

export async function runSweep(sweep: Sweep, opts: RunOptions): Promise<RunOutcome> {
  const say = new RunMessages(opts.out ?? process.stdout, opts.err ?? process.stderr);
  const plan = planSweep(sweep);
  const source = workerSource(sweep, opts);
  const folder = await prepareRunFolder(sweep, plan, { runDir: opts.runDir, resume: opts.resume, force: opts.force, log: say.log });
  try {
    if ("local" in source) {
      folder.manifest.model_root = source.local.modelRoot;
      writeManifest(folder.runDir, folder.manifest);
    }
    const run: Run = {
      sweep, plan, folder, say, opts,
      resumeCommand: printedResumeCommand(folder.runDir, { configFile: sweep.source.file, overrides: sweep.source.overrides, flags: opts.resumeFlags, token: !!opts.token }),
      renderCommand: renderBestCommand(folder.runDir, { flags: opts.resumeFlags, token: !!opts.token }),
      own: new AbortController(),
    };
    const stop = opts.stop ? AbortSignal.any([opts.stop, run.own.signal]) : run.own.signal;
    let releaseReserve: () => void;
    try {
      releaseReserve = reserveSpace(folder.runDir);
    } catch (e) {
      if (!isDiskError(e)) throw e;
      return stoppedForDisk(run, e as Error);
    }
    let workers: RunWorkers;
    try {
      workers = await connectWorkers(source, { token: opts.token, tls: opts.tls, evaluator: sweep.evaluator.kind, features: recipeFeatures(sweep.strategies.map((s) => s.name)), batch: evaluatorBatch(sweep.evaluator), log: say.log, measureWire: opts.measureWire });
    } catch (e) {
      releaseReserve();
      if (!(e instanceof NoWorkersError)) throw e;
      return failed(run, e);
    }
    const recorder = new RunRecorder(folder.runDir, folder.runId, folder.manifest.counts, folder.resume?.best ?? new Map(), (e) => {
      say.cannotWriteEvaluations(e);
      run.own.abort();
    });
    let dispatched: Dispatched;
    try {
      dispatched = await dispatch(run, workers, recorder, stop, releaseReserve);
    } finally {
      folder.manifest.executor = await workers.close();
      recorder.log.close();
    }
    releaseReserve();
    if (dispatched.failure) return failed(run, dispatched.failure);
    if (recorder.log.failure) return stoppedForDisk(run, recorder.log.failure);
    try {
      return await finish(run, dispatched, stop.aborted, recorder.log.file);
    } catch (e) {
      if (!isDiskError(e)) throw e;
      return stoppedForDisk(run, e as Error);
    }
  } finally {
    folder.lock.release();
  }
}

/** What every step after the first shares. */
interface Run {
  sweep: Sweep;
  plan: Plan;
  folder: RunFolder;
  say: RunMessages;
  opts: RunOptions;
  resumeCommand: string;
  /** The command that renders the best images this run could not. */
  renderCommand: string;
  /** The run's own stop: a full disk, a fatal worker error or no worker for --worker-wait stops it as `opts.stop` would. */
  own: AbortController;
  /** Why the run's own stop fired when no worker was up: the run ends interrupted (resumable) with this reason. */
  noWorkers?: string;
}

interface Dispatched {
  results: SearchResult[];
  best?: BestFiles;
  /** A setup failure: no worker, refused by every worker, or a worker that lacks the model. */
  failure?: NoWorkersError | WorkersRefusedError | FatalEvaluationError;
}

async function dispatch(run: Run, workers: RunWorkers, recorder: RunRecorder, stop: AbortSignal, releaseReserve: () => void): Promise<Dispatched> {
  const { sweep, plan, folder, say, opts } = run;
  const { executor } = workers;
  const waitMs = (opts.workerWait ?? 60) * 1000;
  try {
    await executor.waitForWorkers(waitMs);
    say.starting(sweep, plan, executor, folder.runDir, folder.resume);
    const progress = planProgress(plan, folder.resume?.prior, say.stream, opts.logEvery);
    // Searching, no worker for --worker-wait stops the run; rendering best images, only the rendering.
    const rendering = new AbortController();
    let phase: "search" | "render" = "search";
    const unwatch = watchWorkers(executor, waitMs, (why) => {
      if (phase === "render") {
        say.log(`${why}; the best images not rendered yet are left for later`);
        rendering.abort();
      } else {
        run.noWorkers = why;
        run.own.abort();
      }
    });
    try {
      const settings = { timeoutMs: sweep.execution.timeout_s * 1000, retries: sweep.execution.retries };
      const dispatcher = new Dispatcher(executor, { ...settings, stop });
      const results = await dispatchSearches(plan.searches, {
        dispatcher, workers: executor, evaluator: sweep.evaluator, stop, prior: folder.resume?.prior,
        record: (search, r) => progress.evaluated(search.strategy.label, recorder.record(search, r).status === "ok"),
      });
      if (stop.aborted || sweep.evaluator.kind !== "flux2-pickscore") return { results };
      recorder.log.flush();
      progress.stop();
      phase = "render";
      const renderer = new Dispatcher(executor, { ...settings, stop: AbortSignal.any([stop, rendering.signal]) });
      const ctx = deriveContext(run, recorder.log.file);
      try {
        return { results, best: await writeBestCandidates(ctx, sweep.evaluator, renderer) };
      } catch (e) {
        if (!isDiskError(e)) throw e;
        // best/ is derived: in the reserve's space, its noises and index.csv (the images not written
        // marked missing, for sweep render --run --best), then the run's CSVs and report
        say.log(`cannot write best/ (${(e as Error).message}); the images not written are left for later`);
        releaseReserve();
      }
      try {
        return { results, best: await writeBestCandidates(ctx, sweep.evaluator, null) };
      } catch (e) {
        if (!isDiskError(e)) throw e;
        say.log(`cannot write best/ (${(e as Error).message}); the best candidates are left out (sweep noise --run and sweep render --run --best write them later)`);
        return { results };
      }
    } finally {
      unwatch();
      progress.stop();
    }
  } catch (e) {
    if (e instanceof FatalEvaluationError) run.own.abort();
    if (e instanceof FatalEvaluationError || e instanceof NoWorkersError || e instanceof WorkersRefusedError) return { results: [], failure: e };
    throw e;
  }
}

function deriveContext(run: Run, evaluations: string): DeriveContext {
  return { runDir: run.folder.runDir, runId: run.folder.runId, plan: run.plan, evaluations, log: run.say.log };
}

/** The run could not go on (setup): manifest.json says why, the user how to resume. */
function failed(run: Run, failure: NonNullable<Dispatched["failure"]>): RunOutcome {
  const { folder } = run;
  const why = failure instanceof FatalEvaluationError ? `worker ${failure.worker.split("/")[0]}: ${failure.message}` : failure.message;
  Object.assign(folder.manifest, { status: "failed", error: why, finished_at: new Date().toISOString() });
  writeManifest(folder.runDir, folder.manifest);
  run.say.setupFailed(why, folder.manifest.counts.evaluations > (folder.resume?.recorded ?? 0), run.resumeCommand);
  return { runDir: folder.runDir, status: "failed", error: failure };
}

/** A write refused because the disk (or the quota) is full. */
function isDiskError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** The disk filled up: the run stops resumable, saying so in the manifest where it still can. */
function stoppedForDisk(run: Run, e: Error): RunOutcome {
  const { folder } = run;
  const reason = `${(e as NodeJS.ErrnoException).code === "ENOSPC" ? "disk full" : "cannot write"}: ${e.message}`;
  Object.assign(folder.manifest, { status: "interrupted", error: reason, finished_at: new Date().toISOString() });
  try {
    writeManifest(folder.runDir, folder.manifest);
  } catch (m) {
    run.say.manifestNotUpdated(m as Error);
  }
  run.say.stoppedForDisk(reason, run.resumeCommand);
  return { runDir: folder.runDir, status: "interrupted", error: e };
}

/** Derive trials.csv, close the manifest, report. */
async function finish(run: Run, dispatched: Dispatched, stopped: boolean, evaluations: string): Promise<RunOutcome> {
  const { folder, say } = run;
  const { manifest, runDir } = folder;
  say.log(`writing trials.csv and the report from evaluations.csv (${manifest.counts.evaluations} evaluations)`);
  const trials = await writeTrialsFile(deriveContext(run, evaluations));
  const failedSearches = dispatched.results.filter((r) => r.status === "failed");
  const status: RunStatus = stopped ? "interrupted" : failedSearches.length > 0 ? "failed" : "completed";
  closeManifest(manifest, status, failedSearches);
  if (run.noWorkers && stopped) manifest.error = run.noWorkers;
  writeManifest(runDir, manifest);

  try {
    const report = await generateReport(runDir);
    say.summary(`Mean best score (over prompt x seed)\n${pivotText(report.data)}`);
    say.reportWritten(report.files);
  } catch (e) {
    // Without a report (no intervals, no tests), the means still show.
    say.summary(summaryTable(summarise(trials)));
    say.reportFailed(e as Error, runDir);
  }
  say.results(runDir, dispatched.best, run.renderCommand);
  say.failedSearches(failedSearches, dispatched.results.length);
  if (status === "interrupted") say.interrupted(manifest.counts.evaluations, runDir, run.resumeCommand, run.noWorkers);
  return { runDir, status, ...(run.noWorkers && stopped ? { error: new Error(run.noWorkers) } : {}) };
}

function closeManifest(manifest: Manifest, status: RunStatus, failedSearches: SearchResult[]): void {
  const finished = new Date();
  Object.assign(manifest, {
    status,
    finished_at: finished.toISOString(),
    duration_s: (finished.getTime() - new Date(manifest.started_at).getTime()) / 1000,
    failed_searches: failedSearches.map((r) => ({ search_id: r.searchId, error: r.error ?? "" })),
  });
}
