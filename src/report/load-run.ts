/**
 * Reads a run folder for reporting: manifest.json and evaluations.csv (the source of truth; trials
 * are derived from it, so runs killed before trials.csv was written report too). Refuses files
 * with missing columns or rows of more than one run.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { Sweep } from "../config/load.js";
import { planSweep, type Plan } from "../plan/plan.js";
import { EVALUATION_COLUMNS, readEvaluationsText, type EvaluationRow } from "../results/evaluations-csv.js";
import type { Manifest } from "../results/manifest.js";
import { deriveTrials, TRIAL_COLUMNS, type TrialRow } from "../results/trials.js";

export class ReportInputError extends Error {}

export interface LoadedRun {
  runDir: string;
  manifest: Manifest;
  sweep: Sweep;
  plan: Plan;
  evaluations: EvaluationRow[];
  trials: TrialRow[];
  complete: boolean;
  missing: { evaluations: number; trials: number; failedTrials: number };
}

function header(text: string): string[] {
  return (parse(text.split("\n", 1)[0] ?? "") as string[][])[0] ?? [];
}

function requireColumns(file: string, text: string, columns: readonly string[]): void {
  const have = new Set(header(text));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new ReportInputError(`${file} lacks the columns ${missing.join(", ")} (expected ${columns.join(", ")})`);
}

export function loadRun(runDir: string): LoadedRun {
  const manifestFile = path.join(runDir, "manifest.json");
  const evaluationsFile = path.join(runDir, "evaluations.csv");
  if (!existsSync(manifestFile)) throw new ReportInputError(`${runDir} is not a run folder: no manifest.json`);
  if (!existsSync(evaluationsFile)) throw new ReportInputError(`${runDir} has no evaluations.csv`);
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  let text = readFileSync(evaluationsFile, "utf8");
  requireColumns(evaluationsFile, text, EVALUATION_COLUMNS);
  // A run killed mid-write may end in half a line; report what is whole (the file is not changed).
  if (!text.endsWith("\n")) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const evaluations = readEvaluationsText(text);
  const runIds = [...new Set(evaluations.map((r) => r.run_id))];
  if (runIds.length > 1 || (runIds.length === 1 && runIds[0] !== manifest.run_id)) {
    throw new ReportInputError(`${evaluationsFile} mixes runs (${[...new Set([manifest.run_id, ...runIds])].join(", ")}); report one run at a time`);
  }
  const trialsFile = path.join(runDir, "trials.csv");
  if (existsSync(trialsFile)) requireColumns(trialsFile, readFileSync(trialsFile, "utf8"), TRIAL_COLUMNS);
  const sweep = manifest.config as Sweep;
  const plan = planSweep(sweep);
  const trials = deriveTrials(manifest.run_id, plan, evaluations);
  const notOk = trials.filter((t) => t.status !== "ok");
  return {
    runDir,
    manifest,
    sweep,
    plan,
    evaluations,
    trials,
    complete: manifest.status === "completed" && notOk.length === 0,
    missing: {
      evaluations: Math.max(0, plan.evaluations - evaluations.length),
      trials: notOk.filter((t) => t.status === "incomplete").length,
      failedTrials: notOk.filter((t) => t.status === "failed").length,
    },
  };
}
