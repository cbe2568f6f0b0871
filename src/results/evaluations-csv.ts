/**
 * evaluations.csv: one row per evaluation, keyed by (search_id, eval_index), appended by the
 * coordinator alone. Rows are gathered for one turn of the event loop and written with one
 * synchronous write, so at thousands of evaluations per second the file costs one system call per
 * burst; a crash loses at most that burst (which a resume re-evaluates to the same scores).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, truncateSync, writeSync } from "node:fs";
import { parse } from "csv-parse/sync";

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
  noise_seed: number;
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

function numberOrNull(s: string): number | null {
  return s === "" ? null : Number(s);
}

/** A parsed CSV record (column -> text) as a typed row. */
export function toEvaluationRow(r: Record<string, string>): EvaluationRow {
  return {
    run_id: r.run_id,
    search_id: r.search_id,
    prompt_index: Number(r.prompt_index),
    prompt: r.prompt,
    strategy: r.strategy,
    seed: Number(r.seed),
    budget: Number(r.budget),
    eval_index: Number(r.eval_index),
    generation: numberOrNull(r.generation),
    noise_seed: Number(r.noise_seed),
    score: numberOrNull(r.score),
    best_so_far: numberOrNull(r.best_so_far),
    status: r.status as EvaluationStatus,
    error: r.error,
    worker: r.worker,
    latency_ms: Number(r.latency_ms),
    finished_at: r.finished_at,
    attempts: Number(r.attempts),
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
    return (parse(line) as string[][])[0] ?? [];
  } finally {
    closeSync(fd);
  }
}

/** The header a run's evaluations.csv must start with. */
export function checkHeader(file: string): void {
  const want = EVALUATION_COLUMNS.join(",");
  if (readHeader(file).slice(0, EVALUATION_COLUMNS.length).join(",") !== want) throw new Error(`${file} does not start with the evaluations.csv header (${want})`);
}
