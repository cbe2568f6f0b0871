/**
 * The report's gallery: per (prompt, seed), the base noise's image (evaluation 0 of the random
 * search, `best/<candidateStem(search, 0)>.png`, its score from evaluations.csv) beside each
 * strategy's best image at every budget (best/index.csv, docs in src/results/best-files.ts), the
 * best of the row marked.
 * Paths are relative to the run folder; only files that exist are named.
 */
import { BEST_DIR, BEST_INDEX, candidateStem, insideRun, type BestFiles, type BestRow } from "../results/best-files.js";
import type { LoadedRun } from "./load-run.js";

export interface GalleryImage {
  /** path relative to the run folder; null where there is no image file */
  image: string | null;
  score: number | null;
  search_id: string;
}

export interface GalleryBest {
  strategy: string;
  budget: number;
  /** path relative to the run folder; null where there is no image file */
  image: string | null;
  score: number | null;
  eval_index: number | null;
  trial_status: string;
}

export interface GalleryRow {
  prompt_index: number;
  prompt: string;
  seed: number;
  /** the base noise's image and score (random search, evaluation 0); null with neither */
  base: GalleryImage | null;
  /** one per (strategy, budget): strategies in the sweep's order, each at every budget, smallest first */
  strategies: GalleryBest[];
  /** index in `strategies` of the row's highest score (the first where tied); null without scores */
  top: number | null;
}

export interface Gallery {
  /** `best/index.csv` where the run has one, else null */
  index: string | null;
  /** the budgets the best images are of: the sweep's */
  budgets: number[];
  /** label of the random-search entry whose evaluation 0 is the base image; null without one */
  base_strategy: string | null;
  /** images shown (base and best cells; a best that is the base counts twice) */
  images: number;
  /** per (prompt, seed); empty when the run has no images */
  rows: GalleryRow[];
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** The gallery of a run (pure: the run's records and what exists of its best files). */
export function buildGallery(run: LoadedRun, best: BestFiles | null): Gallery {
  const budgets = [...run.sweep.budgets];
  const randomEntry = run.sweep.strategies.find((s) => s.name === "random") ?? null;
  const gallery: Gallery = { index: best?.index ? `${BEST_DIR}/${BEST_INDEX}` : null, budgets, base_strategy: randomEntry?.label ?? null, images: 0, rows: [] };
  if (!best) return gallery;
  const present = (p: string) => {
    const image = insideRun(p);
    return image !== null && best.images.has(image) ? image : null;
  };
  const key = (promptIndex: number, label: string, seed: number, budget: number) => `${promptIndex}/${label}/${seed}/${budget}`;
  const byTrial = new Map<string, BestRow>();
  for (const r of best.index ?? []) byTrial.set(key(r.prompt_index, r.strategy, r.seed, r.budget), r);
  const trials = new Map(run.trials.map((t) => [key(t.prompt_index, t.strategy, t.seed, t.budget), t]));
  const searches = new Map(run.plan.searches.map((s) => [`${s.promptIndex}/${s.strategy.label}/${s.seed}`, s]));
  const rows: GalleryRow[] = [];
  run.sweep.prompts.forEach((prompt, promptIndex) => {
    for (const seed of run.sweep.seeds) {
      const search = randomEntry && searches.get(`${promptIndex}/${randomEntry.label}/${seed}`);
      let base: GalleryImage | null = null;
      if (search) {
        const image = present(`${BEST_DIR}/${candidateStem(search.searchId, 0)}.png`);
        const first = run.summaries.get(search.searchId)?.firstScore;
        const score = first === undefined || first === null ? null : finite(first);
        if (image !== null || score !== null) base = { image, score, search_id: search.searchId };
      }
      const strategies = run.sweep.strategies.flatMap(({ label }) => budgets.map((budget): GalleryBest => {
        const k = key(promptIndex, label, seed, budget);
        const row = byTrial.get(k);
        if (row) {
          return { strategy: label, budget, image: present(row.image), score: finite(row.best_score), eval_index: finite(row.best_eval_index), trial_status: row.trial_status };
        }
        // No row in best/index.csv: the numbers from evaluations.csv, no image.
        const t = trials.get(k);
        return { strategy: label, budget, image: null, score: t?.best_score ?? null, eval_index: t?.best_eval_index ?? null, trial_status: t?.status ?? "incomplete" };
      }));
      let top: number | null = null;
      strategies.forEach((s, i) => {
        if (s.score !== null && (top === null || s.score > strategies[top].score!)) top = i;
      });
      rows.push({ prompt_index: promptIndex, prompt, seed, base, strategies, top });
    }
  });
  gallery.images = rows.reduce((n, r) => n + (r.base?.image ? 1 : 0) + r.strategies.filter((s) => s.image !== null).length, 0);
  if (gallery.images > 0) gallery.rows = rows;
  return gallery;
}

/** Every image a gallery shows, once each. */
export function galleryImages(g: Gallery): string[] {
  const out = new Set<string>();
  for (const r of g.rows) {
    if (r.base?.image) out.add(r.base.image);
    for (const s of r.strategies) if (s.image) out.add(s.image);
  }
  return [...out];
}
