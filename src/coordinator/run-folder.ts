/**
 * The first step of a run: its folder. A new run creates and locks one and writes a fresh
 * manifest.json; `--resume` locks the folder it names before anything in it is read or repaired,
 * reads what was recorded, and updates the manifest to the config this resume runs.
 */
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import type { Plan } from "../plan/plan.js";
import { writeManifest, type Manifest } from "../results/manifest.js";
import { createRunDir, newRunId } from "../results/run-dir.js";
import { RunLock } from "../results/run-lock.js";
import { VERSION } from "../version.js";
import { loadResumeState, type ResumeState } from "./resume.js";
import type { Sweep } from "../domain/sweep.js";

export interface RunFolder {
  runDir: string;
  runId: string;
  /** manifest.json as written; the later steps update it and write it again. */
  manifest: Manifest;
  /** What the earlier run recorded, when resuming. */
  resume?: ResumeState;
  /** One writer per run folder: held until the run ends. */
  lock: RunLock;
}

export interface RunFolderOptions {
  runDir?: string;
  resume?: string;
  force?: boolean;
  log: (line: string) => void;
}

export async function prepareRunFolder(sweep: Sweep, plan: Plan, opts: RunFolderOptions): Promise<RunFolder> {
  const { log } = opts;
  let lock = opts.resume && existsSync(opts.resume) && statSync(opts.resume).isDirectory() ? RunLock.acquire(opts.resume, log) : undefined;
  try {
    const resume = opts.resume ? await loadResumeState(opts.resume, sweep, !!opts.force) : undefined;
    const runId = resume?.manifest.run_id ?? newRunId();
    const runDir = opts.resume ?? opts.runDir ?? path.join(sweep.output, sweep.name, runId);
    if (!resume) {
      createRunDir(runDir, opts.runDir ? "--run-dir" : `output '${sweep.output}' (${path.basename(sweep.source.file)})`);
      lock = RunLock.acquire(runDir, log);
    }
    if (resume?.tornBytes) log(`repaired evaluations.csv: dropped a torn last line (${resume.tornBytes} bytes)`);
    const started = new Date().toISOString();
    const manifest = resume ? resumedManifest(resume, sweep, plan, started) : newManifest(runId, sweep, plan, started);
    writeManifest(runDir, manifest);
    return { runDir, runId, manifest, resume, lock: lock! };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

function planCounts(plan: Plan): Manifest["plan"] {
  return { searches: plan.searches.length, trials: plan.trials, evaluations: plan.evaluations };
}

function newManifest(runId: string, sweep: Sweep, plan: Plan, started: string): Manifest {
  return {
    tool: "sweep",
    version: VERSION,
    run_id: runId,
    name: sweep.name,
    status: "running",
    config_file: sweep.source.file,
    overrides: sweep.source.overrides,
    fingerprint: sweep.fingerprint,
    config: sweep,
    started_at: started,
    finished_at: null,
    duration_s: null,
    executor: { kind: "grpc", workers: [] },
    host: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length },
    plan: planCounts(plan),
    counts: { evaluations: 0, errors: 0 },
    failed_searches: [],
    resumes: [],
  };
}

/**
 * The manifest describes the run as it now stands: the config this resume runs (the same
 * fingerprint, or a forced change, recorded in config_changes), its plan, file and overrides.
 */
function resumedManifest(resume: ResumeState, sweep: Sweep, plan: Plan, started: string): Manifest {
  // an earlier attempt's error (a full disk, a worker that could not start) is not this attempt's
  const { error: _earlier, ...before } = resume.manifest;
  const changes = resume.change
    ? [...(before.config_changes ?? []), { at: started, from_fingerprint: before.fingerprint, to_fingerprint: sweep.fingerprint, ...resume.change }]
    : before.config_changes;
  return {
    ...before,
    ...(changes ? { config_changes: changes } : {}),
    config: sweep,
    fingerprint: sweep.fingerprint,
    config_file: sweep.source.file,
    overrides: sweep.source.overrides,
    plan: planCounts(plan),
    status: "running",
    // the failed evaluations are evaluated again: their new rows replace them
    counts: { evaluations: resume.recorded, errors: 0 },
    resumes: [...(before.resumes ?? []), { at: started, recorded_before: resume.recorded }],
  };
}

const RESERVE_BYTES = 256 * 1024;
const RESERVE_FILE = ".reserve";

/** Space kept aside so that a full disk still lets manifest.json say why the run stopped; returns its release. */
export function reserveSpace(runDir: string): () => void {
  const reserve = path.join(runDir, RESERVE_FILE);
  try {
    writeFileSync(reserve, Buffer.alloc(RESERVE_BYTES));
  } catch (e) {
    // not even the reserve fits: nothing half-written stays to fill the disk
    rmSync(reserve, { force: true });
    throw e;
  }
  return () => rmSync(reserve, { force: true });
}
