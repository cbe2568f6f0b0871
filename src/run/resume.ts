/** What `--resume` needs: the earlier manifest, a config check, and the evaluations already recorded. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Sweep } from "../config/load.js";
import { canonicalJson } from "../config/load.js";
import { checkHeader, readEvaluations, repairTornTail } from "../results/evaluations-csv.js";
import type { Manifest } from "../results/manifest.js";
import { RunDirError } from "../results/run-dir.js";
import type { PriorEvaluation } from "./search-runner.js";

export class ConfigChangedError extends Error {}

export interface ResumeState {
  manifest: Manifest;
  prior: Map<string, Map<number, PriorEvaluation>>;
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

export function loadResumeState(runDir: string, sweep: Sweep, force: boolean): ResumeState {
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
  const prior = new Map<string, Map<number, PriorEvaluation>>();
  const best = new Map<string, number>();
  let recorded = 0;
  let errors = 0;
  if (existsSync(csv) && readFileSync(csv).length > 0) {
    checkHeader(csv);
    for (const r of readEvaluations(csv)) {
      const rows = prior.get(r.search_id) ?? new Map<number, PriorEvaluation>();
      if (rows.has(r.eval_index)) throw new Error(`${csv} has two rows for ${r.search_id} eval ${r.eval_index}`);
      rows.set(r.eval_index, { status: r.status, score: r.score, error: r.error, noiseSeed: r.noise_seed });
      prior.set(r.search_id, rows);
      recorded++;
      if (r.status === "error") errors++;
      if (r.status === "ok" && r.score !== null && r.score > (best.get(r.search_id) ?? -Infinity)) best.set(r.search_id, r.score);
    }
  }
  return { manifest, prior, best, recorded, errors, tornBytes };
}
