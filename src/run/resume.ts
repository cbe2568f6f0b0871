/** What `--resume` needs: the earlier manifest, a config check, and the evaluations already recorded. */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Sweep } from "../config/load.js";
import { canonicalJson } from "../config/load.js";
import { checkHeader, repairTornTail } from "../results/evaluations-csv.js";
import type { Manifest } from "../results/manifest.js";
import { RunDirError } from "../results/run-dir.js";
import { emptyRecords, ERROR, OK, readSearchRecords, type SearchRecord } from "../results/search-records.js";

export class ConfigChangedError extends Error {}

export interface ResumeState {
  manifest: Manifest;
  /** search_id -> what it recorded (streamed from evaluations.csv into typed arrays). */
  prior: Map<string, SearchRecord>;
  /** search_id -> best score so far, to continue best_so_far. */
  best: Map<string, number>;
  recorded: number;
  errors: number;
  tornBytes: number;
}

const DETERMINING = ["prompts", "seeds", "budgets", "strategies", "evaluator"] as const;

/** Which score-determining fields differ, as "field: before -> after". */
export function configDifferences(before: Record<string, unknown>, after: Sweep): string[] {
  const out: string[] = [];
  for (const field of DETERMINING) {
    const a = canonicalJson(before[field]);
    const b = canonicalJson(after[field]);
    if (a !== b) out.push(`${field}: ${short(a)} -> ${short(b)}`);
  }
  return out;
}

function short(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export async function loadResumeState(runDir: string, sweep: Sweep, force: boolean): Promise<ResumeState> {
  const manifestFile = path.join(runDir, "manifest.json");
  const csv = path.join(runDir, "evaluations.csv");
  if (!existsSync(manifestFile)) throw new RunDirError(`cannot resume ${runDir}: it has no manifest.json`);
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  if (manifest.fingerprint !== sweep.fingerprint) {
    const diffs = configDifferences(manifest.config as Record<string, unknown>, sweep);
    const message = `the sweep changed since ${runDir} was started (fingerprint ${manifest.fingerprint.slice(0, 12)} -> ${sweep.fingerprint.slice(0, 12)}):\n  ${diffs.join("\n  ") || "(fields outside the fingerprint)"}`;
    if (!force) throw new ConfigChangedError(`${message}\nResuming would mix two experiments; start a new run, or pass --force to resume anyway.`);
  }
  const tornBytes = existsSync(csv) ? repairTornTail(csv) : 0;
  let records = emptyRecords();
  if (existsSync(csv) && statSync(csv).size > 0) {
    checkHeader(csv);
    records = await readSearchRecords(csv);
    if (records.duplicates.length > 0) {
      throw new RunDirError(`cannot resume: ${csv} has two rows for ${records.duplicates.join(", ")}; every (search_id, eval_index) must be recorded once`);
    }
  }
  const best = new Map<string, number>();
  let errors = 0;
  for (const s of records.searches.values()) {
    let top = -Infinity;
    for (let i = 0; i < s.status.length; i++) {
      if (s.status[i] === ERROR) errors++;
      else if (s.status[i] === OK && s.scores[i] > top) top = s.scores[i];
    }
    if (top > -Infinity) best.set(s.searchId, top);
  }
  return { manifest, prior: records.searches, best, recorded: records.rows, errors, tornBytes };
}
