/**
 * The workers of a run: those named (--workers, --workers-file re-read while running, the config's
 * `workers`; dns: names resolved again as they change), or else one local worker process on
 * loopback. All of them are reached through one GrpcExecutor.
 *
 * The local worker is supervised: its random port can never come back, so when it dies (killed,
 * out of memory, aborted) a new one is started in its place and the run says so. Restarts are
 * bounded by progress: after MAX_IDLE_RESTARTS deaths in a row without a finished evaluation it is
 * left down, and the run stops once no worker has been up for --worker-wait seconds.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { MANIFEST_FILE, readManifest } from "../../models/manifest.js";
import { modelNotFound, rewardNotFound } from "../../models/model-error.js";
import { readRewardManifest } from "../../models/rewards/reward-manifest.js";
import { InputError } from "../../domain/input-error.js";
import type { Manifest } from "../../results/manifest.js";
import { GrpcExecutor, NoWorkersError, type GrpcExecutorOptions } from "../links/grpc-executor.js";
import { startLocalWorker, type LocalWorker, type LocalWorkerOptions } from "./local-workers.js";
import { WorkerDiscovery } from "./worker-discovery.js";
import { readWorkersFile, watchWorkersFile, WorkerListError } from "./worker-list.js";
import type { Sweep } from "../../domain/sweep.js";

/** Where the workers come from: named entries, or a local worker. */
export type WorkerSource =
  | { named: string[]; workersFile?: string }
  | { local: { cliEntry: string; threads?: number; modelRoot: string } };

export interface WorkerSourceOptions {
  workers?: string[];
  workersFile?: string;
  cliEntry: string;
  threads?: number;
  modelRoot?: string;
}

/**
 * Decided before anything is written: a bad workers file is refused, and a local worker's missing
 * model is reported (a setup mistake), before a run folder exists.
 */
export function workerSource(sweep: Sweep, opts: WorkerSourceOptions): WorkerSource {
  const named = opts.workers ?? (opts.workersFile ? readWorkersFile(opts.workersFile) : sweep.workers);
  // Named, but none there: a mistake (a blank file, --workers ''), not a wish for a local worker.
  if (opts.workers?.length === 0) throw new WorkerListError("no workers in the list; name HOST:PORT entries, or leave --workers out for a local worker", "--workers", true);
  if (opts.workersFile && named?.length === 0) throw new WorkerListError(`${opts.workersFile} names no workers; add HOST:PORT lines, or leave --workers-file out for a local worker`, "--workers-file", true);
  if (named && named.length > 0) return { named, workersFile: opts.workersFile };
  const modelRoot = opts.modelRoot ? path.resolve(opts.modelRoot) : path.dirname(sweep.source.file);
  const isFolder = existsSync(modelRoot) && statSync(modelRoot).isDirectory();
  // a flux2 sweep's missing root is said by the model check, with the import command
  if (!isFolder && !(sweep.evaluator.kind === "flux2-pickscore" && !existsSync(modelRoot))) throw new InputError(`${modelRoot} is not a folder`, "--model-root");
  if (sweep.evaluator.kind === "flux2-pickscore") {
    requireModel(modelRoot, sweep.evaluator.model);
    // the local worker runs on the CPU, which has no bfloat16 kernels: said before any run folder
    if (sweep.evaluator.precision === "bfloat16") {
      throw new InputError("precision bfloat16 needs a GPU worker: the local worker runs on the CPU, where onnxruntime has no bfloat16 kernels (use float32, exact, or float16; or name GPU workers with --workers)", "evaluator.precision");
    }
    if (sweep.evaluator.reward) requireReward(modelRoot, sweep.evaluator.reward, "reward");
    for (const h of sweep.evaluator.heldout ?? []) requireReward(modelRoot, h, "held-out reward");
  }
  return { local: { cliEntry: opts.cliEntry, threads: opts.threads ?? sweep.threads, modelRoot } };
}

/** The flux2-pickscore model directory under the local worker's model root, or the error saying how to make it. */
function requireModel(root: string, model: string): void {
  const dir = path.join(root, model);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) throw modelNotFound(model, root);
  readManifest(dir);
}

/** A reward model directory under the local worker's model root, or the error saying how to make it. */
function requireReward(root: string, reward: string, role: "reward" | "held-out reward"): void {
  const dir = path.join(root, reward);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) throw rewardNotFound(reward, root, role);
  readRewardManifest(dir);
}

export interface RunWorkers {
  executor: GrpcExecutor;
  /** Stops following the worker list, closes every link and local worker; returns what the manifest records of them. */
  close(): Promise<Manifest["executor"]>;
}

/** Deaths in a row, none of the workers between them finishing an evaluation, after which the local worker is not restarted. */
export const MAX_IDLE_RESTARTS = 8;

/**
 * How often a candidate may lose the local worker before that counts as a failed attempt: once. A
 * candidate that kills every worker it reaches then fails its search after its retries, within
 * the restart bound (2 x (retries + 1) deaths; 6 by default).
 */
const LOCAL_MAX_MOVES = 1;

export async function connectWorkers(source: WorkerSource, opts: GrpcExecutorOptions): Promise<RunWorkers> {
  const executor = new GrpcExecutor("local" in source ? { maxMoves: LOCAL_MAX_MOVES, ...opts } : opts);
  const { log } = opts;
  let stopLocal = async () => {};
  let stopFollowing = () => {};
  if ("named" in source) {
    let started = false;
    const discovery = new WorkerDiscovery({
      onChange: (added, removed) => {
        for (const a of added) {
          if (started) log(`worker ${a} joined the worker list`);
          executor.addWorker(a);
        }
        for (const a of removed) executor.removeWorker(a);
      },
      log,
    });
    await discovery.setEntries(source.named);
    started = true;
    discovery.start();
    const file = source.workersFile;
    const stopFile = file
      ? watchWorkersFile(file, source.named, (entries) => void discovery.setEntries(entries), (e) => log(`cannot re-read ${file}: ${e.message}`))
      : () => {};
    stopFollowing = () => {
      stopFile();
      discovery.stop();
    };
  } else {
    const supervisor = await superviseLocalWorker(executor, { ...source.local, log });
    stopFollowing = supervisor.stop;
    stopLocal = supervisor.close;
  }
  return {
    executor,
    close: async () => {
      stopFollowing();
      await executor.refreshDescriptions();
      const record = { kind: "grpc", workers: executor.summary(), ...(opts.measureWire ? { wire: executor.wire } : {}) };
      await executor.close();
      await stopLocal();
      return record;
    },
  };
}

/** Starts the local worker and starts it again each time it dies, within MAX_IDLE_RESTARTS; `stop` ends that, `close` stops the worker. */
async function superviseLocalWorker(executor: GrpcExecutor, opts: LocalWorkerOptions): Promise<{ stop(): void; close(): Promise<void> }> {
  const { log } = opts;
  let current: LocalWorker;
  try {
    current = await startLocalWorker(opts);
  } catch (e) {
    throw new NoWorkersError((e as Error).message);
  }
  let stopped = false;
  let idleRestarts = 0;
  const watch = (worker: LocalWorker) => {
    executor.addWorker(worker.address);
    worker.child.once("exit", (code, signal) => void restart(worker, signal ?? `exit code ${code}`));
  };
  const restart = async (dead: LocalWorker, how: string) => {
    if (stopped) return;
    const finished = executor.summary().find((w) => w.address === dead.address)?.completed ?? 0;
    idleRestarts = finished > 0 ? 1 : idleRestarts + 1;
    executor.removeWorker(dead.address, true);
    const why = `local worker (pid ${dead.child.pid}) died (${how})`;
    if (idleRestarts > MAX_IDLE_RESTARTS) {
      log(`${why}; not restarted: it died ${MAX_IDLE_RESTARTS} times in a row without finishing an evaluation`);
      return;
    }
    log(`${why}; starting a new one${finished > 0 ? "" : ` (${idleRestarts} of at most ${MAX_IDLE_RESTARTS} restarts in a row without a finished evaluation)`}`);
    try {
      current = await startLocalWorker(opts);
    } catch (e) {
      log(`the new local worker did not start: ${(e as Error).message}`);
      return;
    }
    if (stopped) return void current.stop();
    log(`local worker (pid ${current.child.pid}) listening on ${current.address}`);
    watch(current);
  };
  log(`local worker (pid ${current.child.pid}) listening on ${current.address}`);
  watch(current);
  return {
    stop: () => {
      stopped = true;
    },
    close: () => current.stop(),
  };
}
