/**
 * The coordinator (`sweep run`): plans the sweep, runs its searches concurrently on gRPC workers
 * (a local worker process when none are named), records each evaluation in evaluations.csv as it
 * finishes, then derives trials.csv from that file. `--resume` finishes an earlier run.
 */
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { GrpcExecutor, NoWorkersError, WorkersRefusedError } from "./links/grpc-executor.js";
import { startLocalWorker, type LocalWorker } from "./workers/local-workers.js";
import { WorkerDiscovery } from "./workers/worker-discovery.js";
import { readWorkersFile, watchWorkersFile } from "./workers/worker-list.js";
import { planSweep, type SearchPlan } from "../plan/plan.js";
import { generateReport } from "../report/generate.js";
import { summarise, summaryTable } from "../report/summary.js";
import { EvaluationLog, type EvaluationRow } from "../results/evaluations-csv.js";
import { writeManifest, type Manifest, type RunStatus } from "../results/manifest.js";
import { createRunDir, newRunId } from "../results/run-dir.js";
import { RunLock } from "../results/run-lock.js";
import { NOT_RECORDED, OK, readSearchRecords } from "../results/search-records.js";
import { readSearchSummaries, summariseRecords } from "../results/search-summary.js";
import { deriveTrials, trialBudgetsOf, writeTrials } from "../results/trials.js";
import { VERSION } from "../version.js";
import { Dispatcher, FatalEvaluationError } from "./dispatcher.js";
import { writeBestFiles, type BestFiles, type RenderItem } from "../results/write-best-files.js";
import { modelNotFound } from "../models/model-error.js";
import { MANIFEST_FILE, readManifest } from "../models/manifest.js";
import { BEST_DIR, candidateStem } from "../results/best-files.js";
import { Progress } from "./progress.js";
import { loadResumeState } from "./resume.js";
import { resumeCommand } from "./resume-command.js";
import { runSearch, type RecordedOutcome, type SearchResult } from "./search-runner.js";
import type { Sweep } from "../domain/sweep.js";

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
  /** Where the summary goes (stdout); progress and logs go to stderr. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WriteStream;
  logEvery?: number;
  /** Seconds to wait for a first worker. */
  workerWait?: number;
  /** Model root of the local worker (default: the config's folder) */
  modelRoot?: string;
  /** The script that runs the sweep CLI (bin/sweep.js), which starts the local worker when no workers are named. */
  cliEntry: string;
  /** Flags the printed resume command repeats to reach the same workers (--workers, --tls-ca, --threads ...). */
  resumeFlags?: string[];
}

export interface RunOutcome {
  runDir: string;
  status: RunStatus;
  exitCode: number;
}

export async function runSweep(sweep: Sweep, opts: RunOptions): Promise<RunOutcome> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const log = (line: string) => err.write(`[sweep] ${line}\n`);
  const plan = planSweep(sweep);
  // Read first: a bad workers file is refused before a run folder exists.
  const named = opts.workers ?? (opts.workersFile ? readWorkersFile(opts.workersFile) : sweep.workers);
  const localModelRoot = opts.modelRoot ? path.resolve(opts.modelRoot) : path.dirname(sweep.source.file);
  // The local worker's model is looked for before anything is written: a missing one is a setup mistake.
  if (!(named && named.length > 0) && sweep.evaluator.kind === "flux2-pickscore") requireModel(localModelRoot, sweep.evaluator.model);
  // One writer per run folder: a resumed folder is locked before anything in it is read or repaired.
  let lock: RunLock | undefined = opts.resume && existsSync(opts.resume) && statSync(opts.resume).isDirectory() ? RunLock.acquire(opts.resume, log) : undefined;
  try {
    const resume = opts.resume ? await loadResumeState(opts.resume, sweep, !!opts.force) : undefined;
    const runId = resume?.manifest.run_id ?? newRunId();
    const runDir = opts.resume ?? opts.runDir ?? path.join(sweep.output, sweep.name, runId);
    if (!resume) {
      createRunDir(runDir, opts.runDir ? "--run-dir" : `output '${sweep.output}' (${path.basename(sweep.source.file)})`);
      lock = RunLock.acquire(runDir, log);
    }
    if (resume?.tornBytes) log(`repaired evaluations.csv: dropped a torn last line (${resume.tornBytes} bytes)`);

    const started = new Date();
    const manifest: Manifest = resume ? { ...resume.manifest } : {
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
      executor: { kind: "grpc", workers: [] },
      host: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length },
      plan: { searches: plan.searches.length, trials: plan.trials, evaluations: plan.evaluations },
      counts: { evaluations: 0, errors: 0 },
      failed_searches: [],
      resumes: [],
    };
    if (resume) {
      // The manifest describes the run as it now stands: the config this resume runs (the same
      // fingerprint, or a forced change, recorded in config_changes), its plan, file and overrides.
      if (resume.change) {
        manifest.config_changes = [...(manifest.config_changes ?? []), {
          at: started.toISOString(), from_fingerprint: manifest.fingerprint, to_fingerprint: sweep.fingerprint, ...resume.change,
        }];
      }
      Object.assign(manifest, {
        config: sweep, fingerprint: sweep.fingerprint, config_file: sweep.source.file, overrides: sweep.source.overrides,
        plan: { searches: plan.searches.length, trials: plan.trials, evaluations: plan.evaluations },
      });
      manifest.status = "running";
      manifest.counts = { evaluations: resume.recorded, errors: resume.errors };
      manifest.resumes = [...(manifest.resumes ?? []), { at: started.toISOString(), recorded_before: resume.recorded }];
    }
    writeManifest(runDir, manifest);

    const measureWire = process.env.SWEEP_MEASURE_WIRE === "1";
    const executor = new GrpcExecutor({ token: opts.token, tls: opts.tls, log, measureWire });
    const locals: LocalWorker[] = [];
    let stopWatching = () => {};
    let discovered = false;
    const discovery = new WorkerDiscovery({
      onChange: (added, removed) => {
        for (const a of added) {
          if (discovered) log(`worker ${a} joined the worker list`);
          executor.addWorker(a);
        }
        for (const a of removed) executor.removeWorker(a);
      },
      log,
    });
    if (named && named.length > 0) {
      await discovery.setEntries(named);
      discovered = true;
      discovery.start();
      const file = opts.workersFile;
      const stopFile = file
        ? watchWorkersFile(file, named, (entries) => void discovery.setEntries(entries), (e) => log(`cannot re-read ${file}: ${e.message}`))
        : () => {};
      stopWatching = () => {
        stopFile();
        discovery.stop();
      };
    } else {
      const local = await startLocalWorker({ cliEntry: opts.cliEntry, threads: opts.threads ?? sweep.threads, modelRoot: localModelRoot, log });
      locals.push(local);
      executor.addWorker(local.address);
    }

    const stopper = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopper.signal.aborted) process.exit(130);
      err.write(`\n${signal}: stopping; evaluations in flight are dropped, recorded ones are kept (again to force)\n`);
      stopper.abort();
    };
    const stopSignals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of stopSignals) process.on(s, onSignal);

    // Space kept aside so that a full disk still lets manifest.json say why the run stopped.
    const reserve = path.join(runDir, ".reserve");
    writeFileSync(reserve, Buffer.alloc(RESERVE_BYTES));
    const log_ = new EvaluationLog(path.join(runDir, "evaluations.csv"), (e) => {
      err.write(`\nsweep: cannot write evaluations.csv (${(e as NodeJS.ErrnoException).code ?? e.message}): stopping; what is on disk is kept\n`);
      stopper.abort();
    });
    let results: SearchResult[] = [];
    let progress: Progress | undefined;
    let setupFailure: string | undefined;
    let setupExitCode = 1;
    let best: BestFiles | undefined;
    try {
      await executor.waitForWorkers((opts.workerWait ?? 60) * 1000);
      err.write(`sweep ${sweep.name}: ${plan.searches.length} searches, ${plan.trials} trials, ${plan.evaluations} evaluations on ${workersUp(executor)} -> ${runDir}\n`);
      if (resume) err.write(`resuming: ${resume.recorded} evaluations already recorded, ${plan.evaluations - resume.recorded} to go\n`);

      const perStrategy = new Map<string, number>();
      for (const s of plan.searches) perStrategy.set(s.strategy.label, (perStrategy.get(s.strategy.label) ?? 0) + s.budget);
      progress = new Progress({ total: plan.evaluations, perStrategy, stream: err, logEvery: opts.logEvery });
      if (resume) {
        for (const s of plan.searches) {
          for (const status of resume.prior.get(s.searchId)?.status ?? []) if (status !== NOT_RECORDED) progress.evaluated(s.strategy.label, status === OK);
        }
      }
      const bestSoFar = new Map(resume?.best ?? []);
      const record = (search: SearchPlan, r: RecordedOutcome) => {
        const row = evaluationRow(runId, search, r, bestSoFar);
        log_.append([row]);
        manifest.counts.evaluations++;
        if (row.status === "error") manifest.counts.errors++;
        progress!.evaluated(search.strategy.label, row.status === "ok");
      };
      const dispatcher = new Dispatcher(executor, {
        timeoutMs: sweep.execution.timeout_s * 1000,
        retries: sweep.execution.retries,
        stop: stopper.signal,
      });
      // Searches hold strategy state (SES: about 140 KB each), so only enough run at once to keep every
      // slot busy; together their windows hold twice what the workers want in flight, so the queue
      // always has a full batch ready.
      let active = 0;
      const window = () => Math.max(executor.capacity, Math.ceil((2 * executor.wanted) / Math.max(1, active)));
      results = await runConcurrently(plan.searches, () => Math.max(32, 4 * executor.capacity), async (search) => {
        active++;
        try {
          return await runSearch(search, { dispatcher, evaluator: sweep.evaluator, window, stop: stopper.signal, record, prior: resume?.prior.get(search.searchId) });
        } finally {
          active--;
        }
      });
      if (!stopper.signal.aborted && sweep.evaluator.kind === "flux2-pickscore") {
        log_.flush();
        log("writing the best candidates' noises and images to best/ (images rendered again by the workers)");
        const searches = await readSearchRecords(log_.file);
        best = await writeBestFiles({
          dir: path.join(runDir, BEST_DIR), plan, searches: searches.searches, trials: deriveTrials(runId, plan, summariseRecords(searches, trialBudgetsOf(plan)).searches),
          shape: sweep.evaluator.shape, withBase: true, render: (items) => renderImages(items, sweep, dispatcher, log),
        });
      }
    } catch (e) {
      if (e instanceof FatalEvaluationError) {
        stopper.abort();
        setupFailure = `worker ${e.worker.split("/")[0]}: ${e.message}`;
        setupExitCode = 2;
      } else if (e instanceof NoWorkersError) {
        setupFailure = e.message;
        if (e instanceof WorkersRefusedError) setupExitCode = 2;
      } else {
        throw e;
      }
    } finally {
      progress?.stop();
      stopWatching();
      for (const s of stopSignals) process.off(s, onSignal);
      await executor.refreshDescriptions();
      manifest.executor = { kind: "grpc", workers: executor.summary(), ...(measureWire ? { wire: executor.wire } : {}) };
      await executor.close();
      await Promise.all(locals.map((l) => l.stop()));
      log_.close();
    }

    const resumeCommand = resumeCommandOf(runDir, sweep, opts);
    /** The disk filled up: the run stops resumable, saying so in the manifest where it still can. */
    const stopForDisk = (e: Error): RunOutcome => {
      const reason = `${(e as NodeJS.ErrnoException).code === "ENOSPC" ? "disk full" : "cannot write"}: ${e.message}`;
      Object.assign(manifest, { status: "interrupted", error: reason, finished_at: new Date().toISOString() });
      try {
        writeManifest(runDir, manifest);
      } catch (m) {
        err.write(`sweep: manifest.json not updated either (${(m as Error).message})\n`);
      }
      err.write(`Run interrupted (${reason}); the evaluations on disk are kept.\nFree some space, then resume with: ${resumeCommand}\n`);
      return { runDir, status: "interrupted", exitCode: 1 };
    };
    rmSync(reserve, { force: true });
    if (setupFailure) {
      Object.assign(manifest, { status: "failed", error: setupFailure, finished_at: new Date().toISOString() });
      writeManifest(runDir, manifest);
      const evaluated = manifest.counts.evaluations > (resume?.recorded ?? 0) ? "Recorded evaluations are kept" : "Nothing was evaluated";
      err.write(`sweep: ${setupFailure}\n${evaluated}; resume with: ${resumeCommand}\n`);
      return { runDir, status: "failed", exitCode: setupExitCode };
    }
    if (log_.failure) return stopForDisk(log_.failure);
    log(`writing trials.csv and the report from evaluations.csv (${manifest.counts.evaluations} evaluations)`);
    const trials = deriveTrials(runId, plan, (await readSearchSummaries(log_.file, trialBudgetsOf(plan))).searches);
    writeTrials(path.join(runDir, "trials.csv"), trials);
    const failed = results.filter((r) => r.status === "failed");
    const status: RunStatus = stopper.signal.aborted ? "interrupted" : failed.length > 0 ? "failed" : "completed";
    const finished = new Date();
    Object.assign(manifest, {
      status,
      finished_at: finished.toISOString(),
      duration_s: (finished.getTime() - new Date(manifest.started_at).getTime()) / 1000,
      failed_searches: failed.map((r) => ({ search_id: r.searchId, error: r.error ?? "" })),
    });
    writeManifest(runDir, manifest);

    out.write(`\n${summaryTable(summarise(trials))}\n`);
    try {
      const report = await generateReport(runDir);
      out.write(`\nReport: ${report.files.filter((f) => /report\.(md|html)$|\.png$/.test(f)).join(", ")}\n`);
    } catch (e) {
      err.write(`could not write the report (${(e as Error).message}); run 'sweep report ${runDir}' to retry\n`);
    }
    if (best) out.write(`\nBest candidates: ${best.noises} noises and ${best.images} images for ${best.trials} trials in ${path.join(runDir, BEST_DIR)} (index.csv)\n`);
    out.write(`\nResults: ${runDir}\n`);
    if (failed.length > 0) {
      err.write(`\n${failed.length} of ${results.length} searches failed:\n`);
      for (const f of failed.slice(0, 20)) err.write(`  ${f.searchId}: ${f.error}\n`);
      if (failed.length > 20) err.write(`  ... and ${failed.length - 20} more (manifest.json lists them all)\n`);
    }
    if (status === "interrupted") {
      err.write(`Run interrupted; ${manifest.counts.evaluations} evaluations recorded in ${runDir}\n`);
      err.write(`Resume with: ${resumeCommand}\n`);
    }
    return { runDir, status, exitCode: status === "completed" ? 0 : status === "failed" ? 1 : 130 };
  } finally {
    lock?.release();
  }
}

const RESERVE_BYTES = 256 * 1024;

/** The command that resumes this run as printed (a token as SWEEP_TOKEN=..., never its value). */
function resumeCommandOf(runDir: string, sweep: Sweep, opts: RunOptions): string {
  const command = resumeCommand(runDir, { configFile: sweep.source.file, overrides: sweep.source.overrides, flags: opts.resumeFlags, token: !!opts.token });
  return opts.token ? `${command}\n  (SWEEP_TOKEN: the token the workers require; its value is not printed)` : command;
}

/** The workers as the run starts: as soon as one is up, so the others may still be connecting. */
function workersUp(executor: GrpcExecutor): string {
  const known = executor.summary().filter((w) => w.state !== "removed");
  const up = known.filter((w) => w.state === "up").length;
  const slots = `${executor.capacity} slot${executor.capacity === 1 ? "" : "s"}`;
  if (up === known.length) return `${up} worker${up === 1 ? "" : "s"}, ${slots}`;
  return `${up} of ${known.length} workers up so far, ${slots} (the others join as they come up)`;
}

/** The flux2-pickscore model directory under the local worker's model root, or the error saying how to make it. */
function requireModel(root: string, model: string): void {
  const dir = path.join(root, model);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) throw modelNotFound(model, root);
  readManifest(dir);
}

/**
 * The images of the best candidates, from the workers (the evaluation path itself): each must
 * score again exactly as recorded, or the evaluation is not deterministic there and we say so.
 */
async function renderImages(items: RenderItem[], sweep: Sweep, dispatcher: Dispatcher, log: (line: string) => void): Promise<Map<string, Uint8Array>> {
  const images = new Map<string, Uint8Array>();
  const differing: string[] = [];
  let failed = 0;
  await Promise.all(items.map(async (it) => {
    const outcome = await dispatcher.evaluate({ evaluator: sweep.evaluator, prompt: it.search.prompt, promptIndex: it.search.promptIndex, recipe: it.candidate.recipe, returnImage: true });
    const stem = candidateStem(it.search.searchId, it.candidate.evalIndex);
    if (outcome.status !== "ok" || !outcome.image) {
      failed++;
      return;
    }
    images.set(stem, outcome.image);
    if (outcome.score !== it.score) differing.push(`${stem} (${it.score} recorded, ${outcome.score} again)`);
  }));
  if (failed > 0) log(`${failed} of ${items.length} best images could not be rendered; their index.csv rows have no image`);
  if (differing.length > 0) log(`warning: ${differing.length} candidates scored differently when rendered again: ${differing.slice(0, 3).join(", ")}; scores on these workers are not reproducible`);
  return images;
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
