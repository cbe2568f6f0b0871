/**
 * Reads a run folder for reporting: manifest.json and evaluations.csv (the source of truth; trials
 * are derived from it, so runs killed before trials.csv was written report too). Refuses files
 * with missing columns or rows of more than one run.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { planSweep, type Plan, type SearchPlan } from "../plan/plan.js";
import { readBestFiles, type BestFiles } from "../results/best-files.js";
import { EVALUATION_COLUMNS, EVALUATIONS_FILE, requireColumns } from "../results/evaluations-csv.js";
import { readRunManifest, type Manifest } from "../results/manifest.js";
import { RunFileError } from "../results/run-file-error.js";
import { readSearchRecords, type SearchRecord } from "../results/search-records.js";
import type { SearchSummary } from "../results/search-summary.js";
import { TRIAL_COLUMNS, trialsOf, type TrialRow } from "../results/trials.js";
import { ReportInputError } from "./report-input-error.js";
import type { Sweep } from "../domain/sweep.js";

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

export async function loadRun(runDir: string, opts: LoadRunOptions = {}): Promise<LoadedRun> {
  const evaluationsFile = path.join(runDir, EVALUATIONS_FILE);
  const manifest = readRunManifest(runDir);
  if (!existsSync(evaluationsFile)) throw new RunFileError(`${runDir} has no ${EVALUATIONS_FILE}`);
  requireColumns(evaluationsFile, EVALUATION_COLUMNS);
  const sweep: Sweep = manifest.config;
  const plan = planSweep(sweep);
  // A run killed mid-write may end in half a line; only whole lines are read (the file is not changed).
  const full = opts.records ? await readSearchRecords(evaluationsFile, manifest.run_id) : undefined;
  const { summaries, trials } = await trialsOf(evaluationsFile, plan, manifest.run_id, full);
  const trialsFile = path.join(runDir, "trials.csv");
  if (existsSync(trialsFile)) requireColumns(trialsFile, TRIAL_COLUMNS);
  const notOk = trials.filter((t) => t.status !== "ok");
  return {
    runDir,
    manifest,
    sweep,
    plan,
    summaries: summaries.searches,
    searches: full?.searches ?? null,
    trials,
    complete: manifest.status === "completed" && notOk.length === 0,
    missing: {
      evaluations: Math.max(0, plan.evaluations - summaries.rows),
      trials: notOk.filter((t) => t.status === "incomplete").length,
      failedTrials: notOk.filter((t) => t.status === "failed").length,
    },
    best: opts.bestFiles ? readBestFiles(runDir) : null,
  };
}

/** The search a candidate request names and the check that its eval index is within the search's budget. */
export function requestedSearch(run: LoadedRun, searchId: string, evalIndex: number): SearchPlan {
  const search = run.plan.searches.find((s) => s.searchId === searchId);
  if (!search) {
    const some = run.plan.searches.slice(0, 3).map((s) => s.searchId).join(", ");
    throw new ReportInputError(`${run.runDir} has no search '${searchId}' (search ids look like ${some}; see the search_id column of ${EVALUATIONS_FILE})`, "--search");
  }
  if (!Number.isInteger(evalIndex) || evalIndex < 0 || evalIndex >= search.budget) {
    throw new ReportInputError(`expected an eval_index from 0 to ${search.budget - 1} (got ${evalIndex})`, "--eval");
  }
  return search;
}
