/**
 * heldout.csv: the held-out check's scores, one row per trial, budget and held-out reward (the keys
 * of trials.csv), plus the base noise of every (prompt, seed) as strategy `base`, budget 1: the
 * candidate (eval_index), the score the search recorded for it on the optimised reward, the
 * held-out reward's score and the image (best/<stem>.png, the same render). Rows are appended as
 * candidates are scored, so an interrupted rescore resumes where it stopped.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import type { Plan, SearchPlan } from "../plan/plan.js";
import { BEST_DIR, candidateStem } from "./best-files.js";
import { requireColumns } from "./evaluations-csv.js";
import { RunFileError } from "./run-file-error.js";
import type { SearchRecord } from "./search-records.js";
import type { TrialRow } from "./trials.js";

export const HELDOUT_FILE = "heldout.csv";
export const BASE_STRATEGY = "base";

export const HELDOUT_COLUMNS = [
  "run_id", "prompt_index", "prompt", "strategy", "seed", "budget", "eval_index", "optimised_score", "reward", "score", "image",
] as const;

export interface HeldoutRow {
  run_id: string;
  prompt_index: number;
  prompt: string;
  /** a strategy's label, or `base` for the base noise */
  strategy: string;
  seed: number;
  budget: number;
  eval_index: number;
  optimised_score: number;
  reward: string;
  score: number;
  /** relative to the run folder */
  image: string;
}

/** One candidate the held-out rewards score, and every (strategy, budget) row it stands for. */
export interface HeldoutCandidate {
  search: SearchPlan;
  evalIndex: number;
  stem: string;
  optimisedScore: number;
  rows: Omit<HeldoutRow, "reward" | "score">[];
}

/**
 * The candidates of the held-out check: each trial's best, and the base noise of every (prompt,
 * seed) (a random search's evaluation 0), one entry per distinct candidate.
 */
export function heldoutCandidates(runId: string, plan: Plan, trials: TrialRow[], searches: Map<string, SearchRecord>): HeldoutCandidate[] {
  const byStem = new Map<string, HeldoutCandidate>();
  const add = (search: SearchPlan, evalIndex: number, strategy: string, budget: number) => {
    const stem = candidateStem(search.searchId, evalIndex);
    let c = byStem.get(stem);
    if (!c) {
      const record = searches.get(search.searchId) as SearchRecord;
      c = { search, evalIndex, stem, optimisedScore: record.scores[evalIndex], rows: [] };
      byStem.set(stem, c);
    }
    c.rows.push({
      run_id: runId, prompt_index: search.promptIndex, prompt: search.prompt, strategy, seed: search.seed, budget,
      eval_index: evalIndex, optimised_score: c.optimisedScore, image: `${BEST_DIR}/${stem}.png`,
    });
  };
  const baseSeen = new Set<string>();
  for (const s of plan.searches) {
    const record = searches.get(s.searchId);
    if (s.strategy.name !== "random" || !record || record.scores.length === 0 || Number.isNaN(record.scores[0])) continue;
    const key = `${s.promptIndex}|${s.seed}`;
    if (baseSeen.has(key)) continue;
    baseSeen.add(key);
    add(s, 0, BASE_STRATEGY, 1);
  }
  for (const t of trials) {
    if (t.best_eval_index === null) continue;
    const search = plan.searches.find((s) => s.promptIndex === t.prompt_index && s.strategy.label === t.strategy && s.seed === t.seed && s.trialBudgets.includes(t.budget));
    if (search) add(search, t.best_eval_index, t.strategy, t.budget);
  }
  return [...byStem.values()];
}

/** The rows a candidate's held-out scores give, in HELDOUT_COLUMNS order. */
export function heldoutRowsOf(c: HeldoutCandidate, rewards: string[], scores: number[]): HeldoutRow[] {
  return c.rows.flatMap((r) => rewards.map((reward, i) => ({ ...r, reward, score: scores[i] })));
}

/** Appends rows (the header first when the file is new or empty). */
export function appendHeldoutRows(runDir: string, rows: HeldoutRow[]): void {
  const file = path.join(runDir, HELDOUT_FILE);
  const fresh = !existsSync(file) || readFileSync(file, "utf8").length === 0;
  const body = rows.map((r) => HELDOUT_COLUMNS.map((c) => String(r[c])));
  if (fresh) writeFileSync(file, stringify([[...HELDOUT_COLUMNS], ...body]));
  else if (body.length > 0) appendFileSync(file, stringify(body));
}

/** A row's trial and reward: heldout.csv has one row per key. */
export function heldoutKey(r: Pick<HeldoutRow, "prompt_index" | "strategy" | "seed" | "budget">, reward: string): string {
  return `${r.prompt_index}|${r.strategy}|${r.seed}|${r.budget}|${reward}`;
}

/**
 * Rewrites heldout.csv in the candidates' order (then the rewards' order of first appearance), as
 * the end of a run writes it, whatever order a rescore's candidates finished in. Written aside and
 * renamed, so the file is whole at every moment.
 */
export function sortHeldoutFile(runDir: string, candidates: HeldoutCandidate[]): void {
  const rows = readHeldoutRows(runDir);
  const rewards = [...new Set(rows.map((r) => r.reward))];
  const order = new Map<string, number>();
  for (const c of candidates) for (const r of c.rows) for (const w of rewards) if (!order.has(heldoutKey(r, w))) order.set(heldoutKey(r, w), order.size);
  const rank = (r: HeldoutRow) => order.get(heldoutKey(r, r.reward)) ?? Number.MAX_SAFE_INTEGER;
  rows.sort((a, b) => rank(a) - rank(b));
  const file = path.join(runDir, HELDOUT_FILE);
  writeFileSync(`${file}.tmp`, stringify([[...HELDOUT_COLUMNS], ...rows.map((r) => HELDOUT_COLUMNS.map((c) => String(r[c])))]));
  renameSync(`${file}.tmp`, file);
}

/** Every row of a run's heldout.csv (none when the file does not exist). */
export function readHeldoutRows(runDir: string): HeldoutRow[] {
  const file = path.join(runDir, HELDOUT_FILE);
  if (!existsSync(file)) return [];
  requireColumns(file, HELDOUT_COLUMNS);
  const raw = parse(readFileSync(file), { columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  return raw.filter((r) => r.score !== undefined && r.image !== undefined).map((r, i) => {
    const num = (c: string) => {
      const v = Number(r[c]);
      if (r[c] === "" || !Number.isFinite(v)) throw new RunFileError(`${file}:${i + 2}: ${c} is '${r[c]}', expected a number`);
      return v;
    };
    return {
      run_id: r.run_id, prompt_index: num("prompt_index"), prompt: r.prompt, strategy: r.strategy, seed: num("seed"), budget: num("budget"),
      eval_index: num("eval_index"), optimised_score: num("optimised_score"), reward: r.reward, score: num("score"), image: r.image,
    };
  });
}
