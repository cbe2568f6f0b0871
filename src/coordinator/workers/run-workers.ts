/**
 * The workers of a run: those named (--workers, --workers-file re-read while running, the config's
 * `workers`; dns: names resolved again as they change), or else one local worker process on
 * loopback. All of them are reached through one GrpcExecutor.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { MANIFEST_FILE, readManifest } from "../../models/manifest.js";
import { modelNotFound, rewardNotFound } from "../../models/model-error.js";
import { readRewardManifest } from "../../models/rewards/reward-manifest.js";
import type { Manifest } from "../../results/manifest.js";
import { GrpcExecutor, type GrpcExecutorOptions } from "../links/grpc-executor.js";
import { startLocalWorker, type LocalWorker } from "./local-workers.js";
import { WorkerDiscovery } from "./worker-discovery.js";
import { readWorkersFile, watchWorkersFile } from "./worker-list.js";
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
  if (named && named.length > 0) return { named, workersFile: opts.workersFile };
  const modelRoot = opts.modelRoot ? path.resolve(opts.modelRoot) : path.dirname(sweep.source.file);
  if (sweep.evaluator.kind === "flux2-pickscore") {
    requireModel(modelRoot, sweep.evaluator.model);
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

export async function connectWorkers(source: WorkerSource, opts: GrpcExecutorOptions): Promise<RunWorkers> {
  const executor = new GrpcExecutor(opts);
  const { log } = opts;
  const locals: LocalWorker[] = [];
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
    const local = await startLocalWorker({ ...source.local, log });
    locals.push(local);
    executor.addWorker(local.address);
  }
  return {
    executor,
    close: async () => {
      stopFollowing();
      await executor.refreshDescriptions();
      const record = { kind: "grpc", workers: executor.summary(), ...(opts.measureWire ? { wire: executor.wire } : {}) };
      await executor.close();
      await Promise.all(locals.map((l) => l.stop()));
      return record;
    },
  };
}
