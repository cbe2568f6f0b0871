/**
 * What trials and reports need of evaluations.csv, per search, in typed arrays indexed by
 * eval_index (17 bytes an evaluation instead of a parsed row of 18 strings). The file is streamed,
 * so summarising a run of millions of evaluations takes little memory.
 */
import { isNewBest } from "./best-score.js";
import { forEachEvaluationRow, type EvaluationRow } from "./evaluations-csv.js";

export const NOT_RECORDED = 0;
export const OK = 1;
export const ERROR = 2;

/** Evaluations a search's arrays hold at first (its budget, when smaller). */
const INITIAL_LENGTH = 1024;

export interface SearchRecord {
  searchId: string;
  strategy: string;
  promptIndex: number;
  seed: number;
  /** By eval_index: NOT_RECORDED, OK or ERROR (longer than what is recorded: trailing NOT_RECORDED). */
  status: Uint8Array;
  scores: Float64Array;
  /** NaN where the noise is no seed's (noise_seed empty). */
  noiseSeeds: Float64Array;
  /** eval_index -> message, for the (few) evaluations that failed. */
  errors: Map<number, string>;
}

export interface EvaluationRecords {
  /** Distinct (search_id, eval_index) keys. */
  rows: number;
  /** Keys met a second time after a successful row ("search_id eval N"; the first few). */
  duplicates: string[];
  searches: Map<string, SearchRecord>;
}

/** One recorded evaluation, as a resumed search replays it. */
export interface RecordedEvaluation {
  status: "ok" | "error";
  score: number | null;
  error: string;
  noiseSeed: number | null;
}

export function emptyRecords(): EvaluationRecords {
  return { rows: 0, duplicates: [], searches: new Map() };
}

/** The evaluation recorded at eval_index i, if any. */
export function recordedAt(s: SearchRecord, i: number): RecordedEvaluation | undefined {
  if (i >= s.status.length || s.status[i] === NOT_RECORDED) return undefined;
  const ok = s.status[i] === OK;
  return { status: ok ? "ok" : "error", score: ok ? s.scores[i] : null, error: s.errors.get(i) ?? "", noiseSeed: seedOrNull(s.noiseSeeds[i]) };
}

/** A recorded noise seed as a row holds it: NaN (empty) is null. */
export function seedOrNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

/** Whether a recorded noise seed (NaN for none) is the one a candidate asks. */
export function sameNoiseSeed(recorded: number, asked: number | null): boolean {
  return asked === null ? Number.isNaN(recorded) : recorded === asked;
}

/**
 * Adds one row; a second row for the same (search_id, eval_index) replaces the first. After an
 * error row that is a retry (a resumed failed search evaluating it again), not a duplicate.
 */
function addRow(records: EvaluationRecords, r: EvaluationRow): void {
  let s = records.searches.get(r.search_id);
  if (!s) {
    // Sized by what is recorded, not by the budget (which may be far beyond what ran); grows by doubling.
    const n = Math.max(Math.min(r.budget, INITIAL_LENGTH), r.eval_index + 1);
    s = {
      searchId: r.search_id, strategy: r.strategy, promptIndex: r.prompt_index, seed: r.seed,
      status: new Uint8Array(n), scores: new Float64Array(n).fill(NaN), noiseSeeds: new Float64Array(n), errors: new Map(),
    };
    records.searches.set(r.search_id, s);
  }
  if (r.eval_index >= s.status.length) grow(s, Math.max(r.eval_index + 1, 2 * s.status.length));
  const i = r.eval_index;
  if (s.status[i] === NOT_RECORDED) records.rows++;
  else if (s.status[i] === OK && records.duplicates.length < 10) records.duplicates.push(`${r.search_id} eval ${i}`);
  s.status[i] = r.status === "ok" ? OK : ERROR;
  s.scores[i] = r.status === "ok" && r.score !== null ? r.score : NaN;
  s.noiseSeeds[i] = r.noise_seed ?? NaN;
  if (r.status === "ok") s.errors.delete(i);
  else s.errors.set(i, r.error);
}

function grow(s: SearchRecord, n: number): void {
  const status = new Uint8Array(n);
  status.set(s.status);
  const scores = new Float64Array(n).fill(NaN);
  scores.set(s.scores);
  const noiseSeeds = new Float64Array(n);
  noiseSeeds.set(s.noiseSeeds);
  Object.assign(s, { status, scores, noiseSeeds });
}

/** Streams evaluations.csv (its whole lines) into per-search records; with `runId`, rows of another run are refused. */
export async function readSearchRecords(file: string, runId?: string): Promise<EvaluationRecords> {
  const records = emptyRecords();
  await forEachEvaluationRow(file, (r) => addRow(records, r), runId);
  return records;
}

/** What a resumed run goes on from: per search its best recorded score (where one succeeded), and the failures in all. */
export function recordedTotals(records: EvaluationRecords): { best: Map<string, number>; errors: number } {
  const best = new Map<string, number>();
  let errors = 0;
  for (const s of records.searches.values()) {
    let top: number | null = null;
    for (let i = 0; i < s.status.length; i++) {
      if (s.status[i] === ERROR) errors++;
      else if (s.status[i] === OK && isNewBest(s.scores[i], top)) top = s.scores[i];
    }
    if (top !== null) best.set(s.searchId, top);
  }
  return { best, errors };
}
