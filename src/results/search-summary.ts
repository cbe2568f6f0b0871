/**
 * What trials.csv and the report need of evaluations.csv, per search, in memory that grows with the
 * number of trials, not with the rows: for every trial budget the count, the best evaluation and
 * the first failure below it; for the budget curve, the length of the search's contiguous
 * successful prefix and the evaluations at which its best-so-far improves (a random search
 * improves about ln(n) times in n evaluations). Rows are taken in eval_index order per search; the
 * rare row that comes before an earlier one of its search waits until the gap fills. A key met
 * twice (the later row replaces the earlier) makes the reader fall back on full records.
 */
import { isNewBest } from "./best-score.js";
import { forEachEvaluationRow, type EvaluationRow } from "./evaluations-csv.js";
import { OK, ERROR, NOT_RECORDED, readSearchRecords, seedOrNull, type EvaluationRecords } from "./search-records.js";

export interface TrialSummary {
  budget: number;
  /** Evaluations recorded below the budget. */
  evaluations: number;
  /** The best successful evaluation below the budget (the first of equal scores), or -1. */
  bestIndex: number;
  bestScore: number;
  bestNoiseSeed: number | null;
  /** The first failed evaluation below the budget, or -1, and its error. */
  failureIndex: number;
  failure: string;
}

export interface SearchSummary {
  searchId: string;
  strategy: string;
  promptIndex: number;
  seed: number;
  /** Distinct eval_index values recorded. */
  recorded: number;
  /** The score of eval 0 when it succeeded (a random search's base noise), else null. */
  firstScore: number | null;
  /** One per trial budget asked for, ascending. */
  trials: TrialSummary[];
  /** Best-so-far over the contiguous successful prefix 0 .. length-1: best[j] from eval at[j] on. */
  curve: { length: number; at: number[]; best: number[] };
}

export interface EvaluationSummaries {
  /** Distinct (search_id, eval_index) keys. */
  rows: number;
  /** Keys met a second time ("search_id eval N"; the first few). */
  duplicates: string[];
  searches: Map<string, SearchSummary>;
}

/** The trial budgets read off a search (its plan's trialBudgets); [] for a search the plan lacks. */
export type TrialBudgets = (searchId: string) => readonly number[];

interface Row {
  i: number;
  ok: boolean;
  score: number;
  noiseSeed: number | null;
  error: string;
}

class Summariser {
  readonly summary: SearchSummary;
  /** Rows 0 .. next-1 are taken; later ones wait in `waiting` until the gap before them fills. */
  private next = 0;
  private readonly waiting = new Map<number, Row>();
  private readonly budgets: number[];
  private snapshots = 0;
  private evaluations = 0;
  private bestIndex = -1;
  private bestScore = NaN;
  private bestNoiseSeed: number | null = null;
  private failureIndex = -1;
  private failure = "";
  private curveOpen = true;

  constructor(first: EvaluationRow, budgets: readonly number[]) {
    this.budgets = [...budgets].sort((a, b) => a - b);
    this.summary = {
      searchId: first.search_id, strategy: first.strategy, promptIndex: first.prompt_index, seed: first.seed,
      recorded: 0, firstScore: null, trials: [], curve: { length: 0, at: [], best: [] },
    };
  }

  /** False when this eval_index was recorded already. */
  add(row: Row): boolean {
    if (row.i < this.next || this.waiting.has(row.i)) return false;
    this.summary.recorded++;
    if (row.i > this.next) {
      this.waiting.set(row.i, row);
      return true;
    }
    this.take(row);
    this.next++;
    for (let w = this.waiting.get(this.next); w; w = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      this.take(w);
      this.next++;
    }
    return true;
  }

  finish(): SearchSummary {
    // Rows after a gap that never filled: counted for the trials, the curve ends at the gap.
    for (const i of [...this.waiting.keys()].sort((a, b) => a - b)) this.take(this.waiting.get(i)!);
    this.waiting.clear();
    while (this.snapshots < this.budgets.length) this.snapshot();
    return this.summary;
  }

  /** Rows come here in ascending eval_index. */
  private take(r: Row): void {
    while (this.snapshots < this.budgets.length && this.budgets[this.snapshots] <= r.i) this.snapshot();
    this.evaluations++;
    const curve = this.summary.curve;
    if (this.curveOpen && (r.i !== curve.length || !r.ok || Number.isNaN(r.score))) this.curveOpen = false;
    if (!r.ok) {
      if (this.failureIndex < 0) {
        this.failureIndex = r.i;
        this.failure = r.error;
      }
      return;
    }
    if (Number.isNaN(r.score)) return;
    if (r.i === 0) this.summary.firstScore = r.score;
    const improved = isNewBest(r.score, this.bestIndex < 0 ? null : this.bestScore);
    if (improved) {
      this.bestIndex = r.i;
      this.bestScore = r.score;
      this.bestNoiseSeed = r.noiseSeed;
    }
    // While the curve is open every row so far is in it, so its best is the trial's best.
    if (this.curveOpen) {
      if (improved) {
        curve.at.push(r.i);
        curve.best.push(r.score);
      }
      curve.length++;
    }
  }

  private snapshot(): void {
    this.summary.trials.push({
      budget: this.budgets[this.snapshots++],
      evaluations: this.evaluations,
      bestIndex: this.bestIndex,
      bestScore: this.bestScore,
      bestNoiseSeed: this.bestNoiseSeed,
      failureIndex: this.failureIndex,
      failure: this.failure,
    });
  }
}

function toRow(r: EvaluationRow): Row {
  const ok = r.status === "ok";
  return { i: r.eval_index, ok, score: ok && r.score !== null ? r.score : NaN, noiseSeed: r.noise_seed, error: ok ? "" : r.error };
}

/**
 * Streams evaluations.csv into per-search summaries (falling back on full records if a key
 * repeats); with `runId`, rows of another run are refused.
 */
export async function readSearchSummaries(file: string, budgets: TrialBudgets, runId?: string): Promise<EvaluationSummaries> {
  const summarisers = new Map<string, Summariser>();
  let rows = 0;
  let repeated = false;
  await forEachEvaluationRow(file, (r) => {
    if (repeated) return;
    let s = summarisers.get(r.search_id);
    if (!s) {
      s = new Summariser(r, budgets(r.search_id));
      summarisers.set(r.search_id, s);
    }
    if (s.add(toRow(r))) rows++;
    else repeated = true;
  }, runId);
  if (repeated) return summariseRecords(await readSearchRecords(file, runId), budgets);
  return { rows, duplicates: [], searches: new Map([...summarisers].map(([id, s]) => [id, s.finish()])) };
}

/** The same summaries from full records (what a resume or a noise export reads anyway). */
export function summariseRecords(records: EvaluationRecords, budgets: TrialBudgets): EvaluationSummaries {
  const searches = new Map<string, SearchSummary>();
  for (const rec of records.searches.values()) {
    const s = new Summariser({ search_id: rec.searchId, strategy: rec.strategy, prompt_index: rec.promptIndex, seed: rec.seed } as EvaluationRow, budgets(rec.searchId));
    for (let i = 0; i < rec.status.length; i++) {
      if (rec.status[i] === NOT_RECORDED) continue;
      s.add({ i, ok: rec.status[i] === OK, score: rec.scores[i], noiseSeed: seedOrNull(rec.noiseSeeds[i]), error: rec.status[i] === ERROR ? rec.errors.get(i) ?? "" : "" });
    }
    searches.set(rec.searchId, s.finish());
  }
  return { rows: records.rows, duplicates: records.duplicates, searches };
}
