/**
 * Reads a run folder for reporting: manifest.json and evaluations.csv (the source of truth; trials
 * are derived from it, so runs killed before trials.csv was written report too). Refuses files
 * with missing columns or rows of more than one run.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { planSweep, type Plan } from "../plan/plan.js";
import { checkHeader, EVALUATION_COLUMNS, readHeader } from "../results/evaluations-csv.js";
import { readRunManifest, type Manifest } from "../results/manifest.js";
import { readSearchRecords, type SearchRecord } from "../results/search-records.js";
import { readSearchSummaries, summariseRecords, type SearchSummary } from "../results/search-summary.js";
import { deriveTrials, TRIAL_COLUMNS, trialBudgetsOf, type TrialRow } from "../results/trials.js";
import { readBestFiles, type BestFiles } from "./gallery.js";
import type { Sweep } from "../domain/sweep.js";

/** A run folder or report option that cannot be reported as asked: exit code 2. */
export class ReportInputError extends Error {
  readonly exitCode = 2;
}

export interface LoadedRun {
  runDir: string;
  manifest: Manifest;
  sweep: Sweep;
  plan: Plan;
  /** Per search: what trials and curves need (memory by trials, not rows). */
  summaries: Map<string, SearchSummary>;
  /** Per search: every recorded evaluation; null unless asked for (loadRun's records) */
  searches: Map<string, SearchRecord> | null;
  trials: TrialRow[];
  complete: boolean;
  missing: { evaluations: number; trials: number; failedTrials: number };
  /** best/index.csv and the best images present; null unless asked for (loadRun's bestFiles) */
  best: BestFiles | null;
}

export interface LoadRunOptions {
  /** also read best/ (the report's gallery); its index.csv's columns are checked */
  bestFiles?: boolean;
  /** also keep every evaluation's score and noise seed (to rebuild candidates): memory grows with the rows */
  records?: boolean;
}

function requireColumns(file: string, columns: readonly string[]): void {
  const have = new Set(readHeader(file));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new ReportInputError(`${file} lacks the columns ${missing.join(", ")} (expected ${columns.join(", ")})`);
}

export async function loadRun(runDir: string, opts: LoadRunOptions = {}): Promise<LoadedRun> {
  const evaluationsFile = path.join(runDir, "evaluations.csv");
  const manifest = readRunManifest(runDir);
  if (!existsSync(evaluationsFile)) throw new ReportInputError(`${runDir} has no evaluations.csv`);
  requireColumns(evaluationsFile, EVALUATION_COLUMNS);
  checkHeader(evaluationsFile);
  const sweep: Sweep = manifest.config;
  const plan = planSweep(sweep);
  // A run killed mid-write may end in half a line; only whole lines are read (the file is not changed).
  const full = opts.records ? await readSearchRecords(evaluationsFile) : null;
  const records = full ? summariseRecords(full, trialBudgetsOf(plan)) : await readSearchSummaries(evaluationsFile, trialBudgetsOf(plan));
  const runIds = [...records.runIds];
  if (runIds.length > 1 || (runIds.length === 1 && runIds[0] !== manifest.run_id)) {
    throw new ReportInputError(`${evaluationsFile} mixes runs (${[...new Set([manifest.run_id, ...runIds])].join(", ")}); report one run at a time`);
  }
  const trialsFile = path.join(runDir, "trials.csv");
  if (existsSync(trialsFile)) requireColumns(trialsFile, TRIAL_COLUMNS);
  const trials = deriveTrials(manifest.run_id, plan, records.searches);
  const notOk = trials.filter((t) => t.status !== "ok");
  return {
    runDir,
    manifest,
    sweep,
    plan,
    summaries: records.searches,
    searches: full?.searches ?? null,
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
