/**
 * Reads a run folder for reporting: manifest.json and evaluations.csv (the source of truth; trials
 * are derived from it, so runs killed before trials.csv was written report too). Refuses files
 * with missing columns or rows of more than one run.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Sweep } from "../config/load.js";
import { planSweep, type Plan } from "../plan/plan.js";
import { EVALUATION_COLUMNS, readHeader } from "../results/evaluations-csv.js";
import type { Manifest } from "../results/manifest.js";
import { readSearchRecords, type SearchRecord } from "../results/search-records.js";
import { deriveTrials, TRIAL_COLUMNS, type TrialRow } from "../results/trials.js";
import { readBestFiles, type BestFiles } from "./gallery.js";

export class ReportInputError extends Error {}

export interface LoadedRun {
  runDir: string;
  manifest: Manifest;
  sweep: Sweep;
  plan: Plan;
  searches: Map<string, SearchRecord>;
  trials: TrialRow[];
  complete: boolean;
  missing: { evaluations: number; trials: number; failedTrials: number };
  /** best/index.csv and the best images present; null unless asked for (loadRun's bestFiles) */
  best: BestFiles | null;
}

export interface LoadRunOptions {
  /** also read best/ (the report's gallery); its index.csv's columns are checked */
  bestFiles?: boolean;
}

function requireColumns(file: string, columns: readonly string[]): void {
  const have = new Set(readHeader(file));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new ReportInputError(`${file} lacks the columns ${missing.join(", ")} (expected ${columns.join(", ")})`);
}

export async function loadRun(runDir: string, opts: LoadRunOptions = {}): Promise<LoadedRun> {
  const manifestFile = path.join(runDir, "manifest.json");
  const evaluationsFile = path.join(runDir, "evaluations.csv");
  if (!existsSync(manifestFile)) throw new ReportInputError(`${runDir} is not a run folder: no manifest.json`);
  if (!existsSync(evaluationsFile)) throw new ReportInputError(`${runDir} has no evaluations.csv`);
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  requireColumns(evaluationsFile, EVALUATION_COLUMNS);
  // A run killed mid-write may end in half a line; only whole lines are read (the file is not changed).
  const records = await readSearchRecords(evaluationsFile);
  const runIds = [...records.runIds];
  if (runIds.length > 1 || (runIds.length === 1 && runIds[0] !== manifest.run_id)) {
    throw new ReportInputError(`${evaluationsFile} mixes runs (${[...new Set([manifest.run_id, ...runIds])].join(", ")}); report one run at a time`);
  }
  const trialsFile = path.join(runDir, "trials.csv");
  if (existsSync(trialsFile)) requireColumns(trialsFile, TRIAL_COLUMNS);
  const sweep = manifest.config as Sweep;
  const plan = planSweep(sweep);
  const trials = deriveTrials(manifest.run_id, plan, records.searches);
  const notOk = trials.filter((t) => t.status !== "ok");
  return {
    runDir,
    manifest,
    sweep,
    plan,
    searches: records.searches,
    trials,
    complete: manifest.status === "completed" && notOk.length === 0,
    missing: {
      evaluations: Math.max(0, plan.evaluations - records.rows),
      trials: notOk.filter((t) => t.status === "incomplete").length,
      failedTrials: notOk.filter((t) => t.status === "failed").length,
    },
    best: opts.bestFiles ? readBestFiles(runDir, (m) => new ReportInputError(m)) : null,
  };
}
