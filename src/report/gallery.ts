/**
 * The report's gallery: per (prompt, seed), the base noise's image (evaluation 0 of the random
 * search, `best/<candidateStem(search, 0)>.png`, its score from evaluations.csv) beside each
 * strategy's best image at the largest budget (best/index.csv, docs in src/results/best-files.ts).
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
  /** one per strategy, in the sweep's order, at `budget` */
  strategies: GalleryBest[];
}

export interface Gallery {
  /** `best/index.csv` where the run has one, else null */
  index: string | null;
  /** the budget the best images are of: the sweep's largest */
  budget: number;
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
  const budget = run.sweep.budgets[run.sweep.budgets.length - 1];
  const randomEntry = run.sweep.strategies.find((s) => s.name === "random") ?? null;
  const gallery: Gallery = { index: best?.index ? `${BEST_DIR}/${BEST_INDEX}` : null, budget, base_strategy: randomEntry?.label ?? null, images: 0, rows: [] };
  if (!best) return gallery;
  const present = (p: string) => {
    const image = insideRun(p);
    return image !== null && best.images.has(image) ? image : null;
  };
  const byTrial = new Map<string, BestRow>();
  for (const r of best.index ?? []) if (r.budget === budget) byTrial.set(`${r.prompt_index}/${r.strategy}/${r.seed}`, r);
  const trials = new Map(run.trials.filter((t) => t.budget === budget).map((t) => [`${t.prompt_index}/${t.strategy}/${t.seed}`, t]));
  const rows: GalleryRow[] = [];
  run.sweep.prompts.forEach((prompt, promptIndex) => {
    for (const seed of run.sweep.seeds) {
      const search = randomEntry && run.plan.searches.find((s) => s.strategy.label === randomEntry.label && s.promptIndex === promptIndex && s.seed === seed);
      let base: GalleryImage | null = null;
      if (search) {
        const image = present(`${BEST_DIR}/${candidateStem(search.searchId, 0)}.png`);
        const first = run.summaries.get(search.searchId)?.firstScore;
        const score = first === undefined || first === null ? null : finite(first);
        if (image !== null || score !== null) base = { image, score, search_id: search.searchId };
      }
      const strategies = run.sweep.strategies.map(({ label }): GalleryBest => {
        const key = `${promptIndex}/${label}/${seed}`;
        const row = byTrial.get(key);
        if (row) {
          return { strategy: label, image: present(row.image), score: finite(row.best_score), eval_index: finite(row.best_eval_index), trial_status: row.trial_status };
        }
        // No row in best/index.csv: the numbers from evaluations.csv, no image.
        const t = trials.get(key);
        return { strategy: label, image: null, score: t?.best_score ?? null, eval_index: t?.best_eval_index ?? null, trial_status: t?.status ?? "incomplete" };
      });
      rows.push({ prompt_index: promptIndex, prompt, seed, base, strategies });
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
