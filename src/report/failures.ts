/**
 * What went wrong in a run, named: the run's own error, failed trials with their errors (one line
 * per failed search, with the budgets it failed), and best images that were never rendered (a run
 * interrupted while rendering), with the command that renders them. Pure.
 */
import { BEST_DIR, candidateStem, type BestFiles } from "../results/best-files.js";
import type { Manifest } from "../results/manifest.js";
import { searchId } from "../plan/plan.js";
import type { TrialRow } from "../results/trials.js";
import type { EvaluatorSpec } from "../domain/sweep.js";
import { shellQuote } from "../util/shell-quote.js";

export interface FailedSearch {
  prompt_index: number;
  prompt: string;
  strategy: string;
  seed: number;
  /** the budgets whose trials failed */
  budgets: number[];
  /** the error's first lines */
  error: string;
}

export interface Failures {
  /** why the run stopped, as manifest.json says (failed, interrupted), or null */
  run_error: string | null;
  failed_trials: number;
  /** the failed trials by search: the error is the search's */
  failed_searches: FailedSearch[];
  /** best images (one per best candidate) of successful trials that are not in best/ */
  missing_best_images: number;
  /** the command that renders them, or null when none is missing */
  render_command: string | null;
}

/** Evaluators whose best candidates have images in best/. */
const makesImages = (e: EvaluatorSpec) => e.kind === "flux2-pickscore";

/** The first `lines` lines of an error, each at most `width` characters. */
export function firstLines(error: string, lines = 3, width = 300): string {
  const all = error.trim().split(/\r?\n/);
  const kept = all.slice(0, lines).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  return all.length > lines ? `${kept.join("\n")}\n…` : kept.join("\n");
}

export function findFailures(manifest: Manifest, trials: TrialRow[], best: BestFiles | null, runDir: string): Failures {
  const bySearch = new Map<string, FailedSearch>();
  let failedTrials = 0;
  for (const t of trials) {
    if (t.status !== "failed") continue;
    failedTrials++;
    const key = searchId(t.prompt_index, t.strategy, t.seed);
    const entry = bySearch.get(key);
    if (entry) entry.budgets.push(t.budget);
    else bySearch.set(key, { prompt_index: t.prompt_index, prompt: t.prompt, strategy: t.strategy, seed: t.seed, budgets: [t.budget], error: firstLines(t.error || "(no error recorded)") });
  }
  let missing = 0;
  if (best && makesImages(manifest.config.evaluator)) {
    const expected = new Set<string>();
    for (const t of trials) {
      if (t.status === "ok" && t.best_eval_index !== null) expected.add(`${BEST_DIR}/${candidateStem(searchId(t.prompt_index, t.strategy, t.seed), t.best_eval_index)}.png`);
    }
    for (const image of expected) if (!best.images.has(image)) missing++;
  }
  return {
    run_error: manifest.error ?? null,
    failed_trials: failedTrials,
    failed_searches: [...bySearch.values()],
    missing_best_images: missing,
    render_command: missing > 0 ? `sweep render --run ${shellQuote(runDir)} --best` : null,
  };
}
