/**
 * The best candidate of every trial as files: its noise (.npy, float32, DiffSynth's initial_noise)
 * and its image (.png) where the evaluator makes one, with index.csv saying which trial each is.
 * Candidates are rebuilt by replaying their searches (random: from noise_seed; SES: the recorded
 * scores drive the same ask/tell), so this needs only the run's records.
 *
 * Images are rendered again at the end of a run rather than sent back with every evaluation: a
 * candidate is only known to be a trial's best once its search is over, and a 1024x1024 PNG per
 * evaluation would be most of the network traffic for images nobody keeps. Rendering is the
 * worker's own evaluation path, and the score it gives again must equal the recorded one. An image
 * already in the folder (rendered by an earlier pass: the same candidate has the same file name) is
 * kept, not rendered again; one that could not be rendered has an empty image cell in index.csv,
 * which `sweep render --run RUN --best` fills in later.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "csv-stringify/sync";
import { writeNoiseNpy, type NoiseDtype } from "../io/npy.js";
import type { Plan, SearchPlan } from "../plan/plan.js";
import { NoiseFactory } from "../recipes/materialise.js";
import { BEST_INDEX, BEST_INDEX_COLUMNS, candidateStem } from "./best-files.js";
import type { SearchRecord } from "./search-records.js";
import type { TrialRow } from "./trials.js";
import { replayCandidates, ReplayError } from "./replay.js";
import type { Candidate, NoiseShape } from "../domain/candidate.js";

export type { NoiseDtype };

/** A candidate to render: its search and how to make its noise. */
export interface RenderItem {
  search: SearchPlan;
  candidate: Candidate;
  /** the score recorded for it */
  score: number;
}

/** PNG per candidate stem, from the workers; absent for evaluators that make no image. */
export type Renderer = (items: RenderItem[]) => Promise<Map<string, Uint8Array>>;

export interface BestFilesOptions {
  /** the folder to write (a run's best/, or `sweep noise --best --out-dir`) */
  dir: string;
  plan: Plan;
  searches: Map<string, SearchRecord>;
  trials: TrialRow[];
  shape: NoiseShape;
  /** which trials: these budgets (default: all) */
  budgets?: number[];
  dtype?: NoiseDtype;
  /** also the base noise of every (prompt, seed): random search's evaluation 0, for the gallery */
  withBase?: boolean;
  render?: Renderer;
}

export interface BestFiles {
  index: string;
  trials: number;
  noises: number;
  images: number;
  /** Candidates whose image could not be rendered (index.csv: empty image); 0 without a renderer. */
  missingImages: number;
}

function recordOf(searches: Map<string, SearchRecord>, search: SearchPlan): SearchRecord {
  const record = searches.get(search.searchId);
  if (!record) throw new ReplayError(`${search.searchId} has no recorded evaluations`);
  return record;
}

/** A file written whole or not at all: a partial image (a full disk) would pass for a rendered one and never be rendered again. */
function writeWhole(file: string, data: Uint8Array): void {
  try {
    writeFileSync(file, data);
  } catch (e) {
    rmSync(file, { force: true });
    throw e;
  }
}

export async function writeBestFiles(opts: BestFilesOptions): Promise<BestFiles> {
  const budgets = new Set(opts.budgets ?? opts.plan.searches.flatMap((s) => s.trialBudgets));
  const picked = opts.trials.filter((t) => budgets.has(t.budget) && t.best_eval_index !== null).map((trial) => {
    const search = opts.plan.searches.find((s) => s.promptIndex === trial.prompt_index && s.strategy.label === trial.strategy && s.seed === trial.seed && s.trialBudgets.includes(trial.budget));
    return { trial, search: search as SearchPlan };
  });
  // every candidate needed, per search (one replay each)
  const wanted = new Map<SearchPlan, Set<number>>();
  const want = (search: SearchPlan, evalIndex: number) => {
    const set = wanted.get(search) ?? new Set<number>();
    set.add(evalIndex);
    wanted.set(search, set);
  };
  for (const { trial, search } of picked) want(search, trial.best_eval_index as number);
  const bases = opts.withBase ? opts.plan.searches.filter((s) => s.strategy.name === "random" && recordOf(opts.searches, s).status.length > 0 && !Number.isNaN(recordOf(opts.searches, s).scores[0])) : [];
  for (const s of bases) want(s, 0);
  const candidates = new Map<string, RenderItem>();
  for (const [search, evals] of wanted) {
    const record = recordOf(opts.searches, search);
    for (const [evalIndex, candidate] of replayCandidates(search, record, opts.shape, evals)) {
      candidates.set(candidateStem(search.searchId, evalIndex), { search, candidate, score: record.scores[evalIndex] });
    }
  }

  mkdirSync(opts.dir, { recursive: true });
  const pngOf = (stem: string) => path.join(opts.dir, `${stem}.png`);
  const toRender = [...candidates.entries()].filter(([stem]) => !existsSync(pngOf(stem))).map(([, item]) => item);
  const rendered = opts.render && toRender.length > 0 ? await opts.render(toRender) : new Map<string, Uint8Array>();
  for (const [stem, png] of rendered) writeWhole(pngOf(stem), png);
  const images = new Set(opts.render ? [...candidates.keys()].filter((stem) => existsSync(pngOf(stem))) : []);
  // paths in index.csv are relative to the folder above it: the run folder for <run>/best/
  const rel = (file: string) => path.relative(path.dirname(path.resolve(opts.dir)), path.resolve(opts.dir, file)).split(path.sep).join("/");
  const factory = new NoiseFactory();
  const written = new Set<string>();
  const rows: (string | number)[][] = [[...BEST_INDEX_COLUMNS]];
  for (const { trial, search } of picked) {
    const stem = candidateStem(search.searchId, trial.best_eval_index as number);
    const item = candidates.get(stem) as RenderItem;
    if (!written.has(stem)) {
      const noise = factory.materialise(item.candidate.recipe, opts.shape);
      writeNoiseNpy(path.join(opts.dir, `${stem}.npy`), noise, opts.shape, opts.dtype);
      written.add(stem);
    }
    rows.push([
      trial.prompt_index, trial.prompt, trial.strategy, trial.seed, trial.budget, trial.status,
      trial.best_eval_index as number, String(trial.best_score), item.candidate.noiseSeed === null ? "" : String(item.candidate.noiseSeed),
      rel(`${stem}.npy`), images.has(stem) ? rel(`${stem}.png`) : "",
    ]);
  }
  const index = path.join(opts.dir, BEST_INDEX);
  writeFileSync(index, stringify(rows));
  return { index, trials: rows.length - 1, noises: written.size, images: images.size, missingImages: opts.render ? candidates.size - images.size : 0 };
}
