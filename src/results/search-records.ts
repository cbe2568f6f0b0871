/**
 * What trials and reports need of evaluations.csv, per search, in typed arrays indexed by
 * eval_index (17 bytes an evaluation instead of a parsed row of 18 strings). The file is streamed,
 * so summarising a run of millions of evaluations takes little memory.
 */
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { EVALUATION_COLUMNS, toEvaluationRow, wholeLinesLength, type EvaluationRow, type RowSource } from "./evaluations-csv.js";
import { RunFileError } from "./run-file-error.js";

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
  noiseSeeds: Float64Array;
  /** eval_index -> message, for the (few) evaluations that failed. */
  errors: Map<number, string>;
}

export interface EvaluationRecords {
  /** Distinct run_id values seen. */
  runIds: Set<string>;
  /** Distinct (search_id, eval_index) keys. */
  rows: number;
  /** Keys met a second time ("search_id eval N"; the first few). */
  duplicates: string[];
  searches: Map<string, SearchRecord>;
}

/** One recorded evaluation, as a resumed search replays it. */
export interface RecordedEvaluation {
  status: "ok" | "error";
  score: number | null;
  error: string;
  noiseSeed: number;
}

export function emptyRecords(): EvaluationRecords {
  return { runIds: new Set(), rows: 0, duplicates: [], searches: new Map() };
}

/** The evaluation recorded at eval_index i, if any. */
export function recordedAt(s: SearchRecord, i: number): RecordedEvaluation | undefined {
  if (i >= s.status.length || s.status[i] === NOT_RECORDED) return undefined;
  const ok = s.status[i] === OK;
  return { status: ok ? "ok" : "error", score: ok ? s.scores[i] : null, error: s.errors.get(i) ?? "", noiseSeed: s.noiseSeeds[i] };
}

/** Adds one row; a second row for the same (search_id, eval_index) replaces the first. */
function addRow(records: EvaluationRecords, r: EvaluationRow): void {
  records.runIds.add(r.run_id);
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
  else if (records.duplicates.length < 10) records.duplicates.push(`${r.search_id} eval ${i}`);
  s.status[i] = r.status === "ok" ? OK : ERROR;
  s.scores[i] = r.status === "ok" && r.score !== null ? r.score : NaN;
  s.noiseSeeds[i] = r.noise_seed;
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

/** Streams the rows of evaluations.csv (its whole lines: a torn last line is left out) to `onRow`. */
export async function forEachEvaluationRow(file: string, onRow: (r: EvaluationRow) => void): Promise<void> {
  const length = wholeLinesLength(file);
  if (length === 0) return;
  const parser = createReadStream(file, { end: length - 1 }).pipe(parse({ columns: true, skip_empty_lines: true, info: true }));
  try {
    const at: RowSource = { file, line: 0 };
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      at.line = info.lines;
      onRow(toEvaluationRow(record, at));
    }
  } catch (e) {
    throw csvError(file, e);
  }
}

/** A CSV syntax error (a garbage line: too few or too many fields, a stray quote) as one line naming file:line. */
function csvError(file: string, e: unknown): unknown {
  const err = e as { code?: string; lines?: number; message?: string };
  if (typeof err?.code !== "string" || !err.code.startsWith("CSV_")) return e;
  const where = `${file}:${err.lines ?? "?"}`;
  if (err.code === "CSV_RECORD_INCONSISTENT_COLUMNS" || err.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH") {
    const [, want, got] = /length is (\d+), got (\d+)/.exec(err.message ?? "") ?? [];
    return new RunFileError(`${where}: expected ${want ?? EVALUATION_COLUMNS.length} fields, one per column of the header${got ? ` (got ${got})` : ""}`);
  }
  return new RunFileError(`${where}: not a valid CSV line (${(err.message ?? err.code).replace(/ at line \d+| on line \d+/, "")})`);
}

/** Streams evaluations.csv (its whole lines) into per-search records. */
export async function readSearchRecords(file: string): Promise<EvaluationRecords> {
  const records = emptyRecords();
  await forEachEvaluationRow(file, (r) => addRow(records, r));
  return records;
}
