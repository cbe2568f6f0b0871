/** What `--resume` needs: the earlier manifest, a config check, and the evaluations already recorded. */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { canonicalJson } from "../config/load.js";
import { repairTornTail } from "../results/evaluations-csv.js";
import { readRunManifest, type Manifest } from "../results/manifest.js";
import { RunDirError } from "../results/run-dir.js";
import { emptyRecords, readSearchRecords, recordedTotals, type SearchRecord } from "../results/search-records.js";
import { InputError } from "../domain/input-error.js";
import type { Sweep } from "../domain/sweep.js";

/** A resume refused because the sweep changed (without --force): exit code 2. */
export class ConfigChangedError extends InputError {}

export interface ResumeState {
  manifest: Manifest;
  /** search_id -> what it recorded (streamed from evaluations.csv into typed arrays). */
  prior: Map<string, SearchRecord>;
  /** search_id -> best score so far, to continue best_so_far. */
  best: Map<string, number>;
  /** Successful evaluations recorded (kept and replayed). */
  recorded: number;
  /** Failed evaluations recorded: evaluated again by this resume (their searches retried from there). */
  errors: number;
  tornBytes: number;
  /** What a forced resume changed (the manifest records it), or undefined when the fingerprint is the same. */
  change?: { fields: string[]; changes: string[] };
}

const DETERMINING = ["prompts", "seeds", "budgets", "strategies", "evaluator"] as const;

/** Which score-determining fields differ, as "field: before -> after". */
export function configDifferences(before: Sweep, after: Sweep): string[] {
  return changedFields(before, after).map((d) => d.change);
}

function changedFields(before: Sweep, after: Sweep): { field: string; change: string }[] {
  const out: { field: string; change: string }[] = [];
  for (const field of DETERMINING) {
    const a = canonicalJson(before[field]);
    const b = canonicalJson(after[field]);
    if (a !== b) out.push({ field, change: `${field}: ${short(a)} -> ${short(b)}` });
  }
  return out;
}

function short(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * Reads what an earlier run recorded, validating manifest.json and every line of evaluations.csv
 * first: a bad file is refused (RunFileError, exit 2) before anything is changed. Only then is a
 * torn last line (a coordinator killed mid-write) cut off.
 */
export async function loadResumeState(runDir: string, sweep: Sweep, force: boolean): Promise<ResumeState> {
  const csv = path.join(runDir, "evaluations.csv");
  const manifest = readRunManifest(runDir);
  let change: ResumeState["change"];
  if (manifest.fingerprint !== sweep.fingerprint) {
    const diffs = changedFields(manifest.config, sweep);
    const message = `the sweep changed since ${runDir} was started (fingerprint ${manifest.fingerprint.slice(0, 12)} -> ${sweep.fingerprint.slice(0, 12)}):\n  ${diffs.map((d) => d.change).join("\n  ") || "(fields outside the fingerprint)"}`;
    if (!force) throw new ConfigChangedError(`${message}\nResuming would mix two experiments; start a new run, or pass --force to resume anyway.`, "--resume", true);
    change = { fields: diffs.map((d) => d.field), changes: diffs.map((d) => d.change) };
  }
  let records = emptyRecords();
  if (existsSync(csv) && statSync(csv).size > 0) {
    records = await readSearchRecords(csv, manifest.run_id);
    if (records.duplicates.length > 0) {
      throw new RunDirError(`cannot resume: ${csv} has two rows for ${records.duplicates.join(", ")}; every (search_id, eval_index) must be recorded once`);
    }
  }
  const tornBytes = existsSync(csv) ? repairTornTail(csv) : 0;
  const { best, errors } = recordedTotals(records);
  return { manifest, prior: records.searches, best, recorded: records.rows - errors, errors, tornBytes, change };
}
