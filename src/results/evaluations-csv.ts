/**
 * evaluations.csv: one row per evaluation, keyed by (search_id, eval_index), appended by the
 * coordinator alone. Rows are gathered for one turn of the event loop and written with one
 * synchronous write, so at thousands of evaluations per second the file costs one system call per
 * burst; a crash loses at most that burst (which a resume re-evaluates to the same scores).
 * Read back through forEachEvaluationRow alone (resume, trials, report, noise export, render).
 */
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, statSync, truncateSync, writeSync } from "node:fs";
import { parse as parseStream } from "csv-parse";
import { parse } from "csv-parse/sync";
import { RunFileError } from "./run-file-error.js";

export const EVALUATIONS_FILE = "evaluations.csv";

export const EVALUATION_COLUMNS = [
  "run_id", "search_id", "prompt_index", "prompt", "strategy", "seed", "budget", "eval_index", "generation",
  "noise_seed", "score", "best_so_far", "status", "error", "worker", "latency_ms", "finished_at", "attempts",
] as const;

export type EvaluationStatus = "ok" | "error";

export interface EvaluationRow {
  run_id: string;
  search_id: string;
  prompt_index: number;
  prompt: string;
  strategy: string;
  seed: number;
  budget: number;
  eval_index: number;
  generation: number | null;
  /** Null (empty) for a noise that is no seed's: a zero-order neighbour, an evolution child. */
  noise_seed: number | null;
  score: number | null;
  best_so_far: number | null;
  status: EvaluationStatus;
  error: string;
  worker: string;
  latency_ms: number;
  finished_at: string;
  attempts: number;
}

/**
 * One CSV line, quoted as csv-stringify quotes (only cells with a comma, quote, CR or LF; quotes
 * doubled). Written by hand for speed: csv-stringify took about 15 us a row, a tenth of the
 * coordinator's time at 20,000 evaluations a second; this takes about 1 us. Numbers are in
 * shortest round-trip form, so float64 scores keep every digit.
 */
export function csvLine(row: EvaluationRow): string {
  let line = "";
  for (let i = 0; i < EVALUATION_COLUMNS.length; i++) {
    const c = EVALUATION_COLUMNS[i];
    const v = row[c];
    const text = v === null ? "" : c === "latency_ms" ? (v as number).toFixed(3) : String(v);
    if (i > 0) line += ",";
    line += NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  }
  return `${line}\n`;
}

const NEEDS_QUOTES = /[",\r\n]/;

export class EvaluationLog {
  private readonly fd: number;
  private pending: string[] = [];
  private scheduled = false;
  /** Why writing stopped (a full disk): nothing more is written, the run must stop. */
  failure?: Error;

  constructor(readonly file: string, private readonly onFailure: (e: Error) => void = () => {}) {
    const fresh = !existsSync(file);
    this.fd = openSync(file, "a");
    if (fresh) writeSync(this.fd, `${EVALUATION_COLUMNS.join(",")}\n`);
  }

  append(rows: EvaluationRow[]): void {
    for (const r of rows) this.pending.push(csvLine(r));
    if (!this.scheduled && this.pending.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(""));
    this.pending = [];
    if (this.failure) return;
    try {
      // A write may stop short (a disk filling up): what reached the file ends in a torn line, which --resume repairs.
      for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done);
    } catch (e) {
      this.failure = e as Error;
      this.onFailure(this.failure);
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

const INTEGER = /^\d+$/;

/** Where a row came from, for messages: file and line (the line only named when known). */
export interface RowSource {
  file: string;
  line?: number;
}

function fail(at: RowSource, column: string, got: string | undefined, expected: string): never {
  const shown = got === undefined ? "nothing" : `'${got.length > 40 ? `${got.slice(0, 37)}...` : got}'`;
  throw new RunFileError(`${at.file}${at.line === undefined ? "" : `:${at.line}`}: ${column}: expected ${expected} (got ${shown})`);
}

function text(v: string | undefined, at: RowSource, column: string, nonEmpty = false): string {
  if (typeof v !== "string" || (nonEmpty && v === "")) fail(at, column, v, "a non-empty value");
  return v;
}

/** Text that Number() reads without help: non-empty, no surrounding white space. */
function bare(v: string | undefined): v is string {
  return typeof v === "string" && v.length > 0 && v.charCodeAt(0) > 32 && v.charCodeAt(v.length - 1) > 32;
}

function integer(v: string | undefined, at: RowSource, column: string, min: number): number {
  const n = bare(v) ? Number(v) : NaN;
  if (!(n >= min) || !Number.isSafeInteger(n) || !INTEGER.test(v!)) fail(at, column, v, min > 0 ? "a positive integer" : "a non-negative integer");
  return n;
}

function number(v: string | undefined, at: RowSource, column: string, expected = "a finite number"): number {
  const n = bare(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) fail(at, column, v, expected);
  return n;
}

function numberOrNull(v: string | undefined, at: RowSource, column: string): number | null {
  return v === "" ? null : number(v, at, column, "a finite number or nothing");
}

const NO_SOURCE: RowSource = { file: "evaluations.csv" };

/**
 * A parsed CSV record (column -> text) as a typed row, every field checked: a garbage or
 * hand-edited line is refused naming its file and line, never read as NaN.
 */
export function toEvaluationRow(r: Record<string, string>, at: RowSource = NO_SOURCE): EvaluationRow {
  const status = r.status;
  if (status !== "ok" && status !== "error") fail(at, "status", status, "ok or error");
  const budget = integer(r.budget, at, "budget", 1);
  const evalIndex = integer(r.eval_index, at, "eval_index", 0);
  if (evalIndex >= budget) fail(at, "eval_index", r.eval_index, `an index below the row's budget ${budget}`);
  const latency = number(r.latency_ms, at, "latency_ms", "a non-negative number");
  if (latency < 0) fail(at, "latency_ms", r.latency_ms, "a non-negative number");
  return {
    run_id: text(r.run_id, at, "run_id", true),
    search_id: text(r.search_id, at, "search_id", true),
    prompt_index: integer(r.prompt_index, at, "prompt_index", 0),
    prompt: text(r.prompt, at, "prompt"),
    strategy: text(r.strategy, at, "strategy", true),
    seed: integer(r.seed, at, "seed", 0),
    budget,
    eval_index: evalIndex,
    generation: r.generation === "" ? null : integer(r.generation, at, "generation", 0),
    noise_seed: r.noise_seed === "" ? null : integer(r.noise_seed, at, "noise_seed", 0),
    score: status === "ok" ? number(r.score, at, "score", "a finite number (the row's status is ok)") : numberOrNull(r.score, at, "score"),
    best_so_far: numberOrNull(r.best_so_far, at, "best_so_far"),
    status,
    error: text(r.error, at, "error"),
    worker: text(r.worker, at, "worker"),
    latency_ms: latency,
    finished_at: text(r.finished_at, at, "finished_at"),
    attempts: integer(r.attempts, at, "attempts", 0),
  };
}

/** Bytes up to and including the last newline: a run killed mid-write may end in half a line. */
export function wholeLinesLength(file: string): number {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let end = fstatSync(fd).size; end > 0; end -= buf.length) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      const at = buf.subarray(0, n).lastIndexOf(0x0a);
      if (at >= 0) return start + at + 1;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * A coordinator killed mid-write leaves a last line without its newline: drop it (that evaluation
 * is re-dispatched and, being deterministic, gets the same score). Returns the bytes dropped.
 */
export function repairTornTail(file: string): number {
  const size = statSync(file).size;
  const keep = wholeLinesLength(file);
  if (keep < size) truncateSync(file, keep);
  return size - keep;
}

/** The cells of a CSV file's header (its first line, read alone: the file may be large). */
export function readHeader(file: string): string[] {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(4096);
    const line = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8").split("\n", 1)[0];
    try {
      return (parse(line) as string[][])[0] ?? [];
    } catch (e) {
      throw new RunFileError(`${file}:1: the header is not valid CSV (${(e as Error).message})`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Refuses a CSV file whose header lacks any of `columns`, naming them. */
export function requireColumns(file: string, columns: readonly string[]): void {
  const have = new Set(readHeader(file));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new RunFileError(`${file} lacks the columns ${missing.join(", ")} (expected ${columns.join(", ")})`);
}

/** The header a run's evaluations.csv must start with. */
export function checkHeader(file: string): void {
  const want = EVALUATION_COLUMNS.join(",");
  const have = readHeader(file);
  if (have.slice(0, EVALUATION_COLUMNS.length).join(",") !== want) {
    const at = EVALUATION_COLUMNS.findIndex((c, i) => have[i] !== c);
    throw new RunFileError(`${file}:1: the header differs from the evaluations.csv header at column ${at + 1} ('${have[at] ?? ""}' instead of '${EVALUATION_COLUMNS[at]}'); expected ${want}`);
  }
}

/**
 * The one reader of evaluations.csv: checks its header, then streams its whole lines (a torn last
 * line is left out) to `onRow` as typed rows, each checked. With `runId` (the run folder's run), a
 * row of another run is refused: results of two runs are never mixed.
 */
export async function forEachEvaluationRow(file: string, onRow: (r: EvaluationRow) => void, runId?: string): Promise<void> {
  if (statSync(file).size === 0) return;
  checkHeader(file);
  const length = wholeLinesLength(file);
  if (length === 0) return;
  const parser = createReadStream(file, { end: length - 1 }).pipe(parseStream({ columns: true, skip_empty_lines: true, info: true }));
  try {
    const at: RowSource = { file, line: 0 };
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      at.line = info.lines;
      const row = toEvaluationRow(record, at);
      if (runId !== undefined && row.run_id !== runId) {
        throw new RunFileError(`${file}:${at.line}: run_id: the file mixes runs (${runId}, ${row.run_id}): this folder's run is ${runId}; one run at a time`);
      }
      onRow(row);
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
