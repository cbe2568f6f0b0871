/**
 * What a run derives from its evaluations.csv once dispatch is over: trials.csv (every run), and
 * for an evaluator that makes images the best candidates' noises and images in best/.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import type { Plan } from "../plan/plan.js";
import { BEST_DIR, candidateStem } from "../results/best-files.js";
import { appendHeldoutRows, heldoutCandidates, heldoutRowsOf, HELDOUT_FILE } from "../results/heldout-csv.js";
import { readSearchRecords } from "../results/search-records.js";
import { trialsOf, writeTrials, type TrialRow } from "../results/trials.js";
import { writeBestFiles, type BestFiles, type RenderItem } from "../results/write-best-files.js";
import type { Dispatcher } from "./dispatcher.js";
import type { EvaluatorSpec } from "../domain/sweep.js";

export interface DeriveContext {
  runDir: string;
  runId: string;
  plan: Plan;
  /** evaluations.csv, complete (flushed) */
  evaluations: string;
  log: (line: string) => void;
}

/** trials.csv from evaluations.csv; returns its rows. */
export async function writeTrialsFile(ctx: DeriveContext): Promise<TrialRow[]> {
  const { trials } = await trialsOf(ctx.evaluations, ctx.plan, ctx.runId);
  writeTrials(path.join(ctx.runDir, "trials.csv"), trials);
  return trials;
}

/**
 * best/: every trial's best noise, and its image rendered again by the workers; with held-out
 * rewards (evaluator.heldout), the same renders scored by each of them, into heldout.csv. Without a
 * dispatcher nothing is rendered: the images already in best/ are kept, the others marked missing.
 */
export async function writeBestCandidates(ctx: DeriveContext, evaluator: EvaluatorSpec, dispatcher: Dispatcher | null): Promise<BestFiles> {
  const heldout = evaluator.kind === "flux2-pickscore" && dispatcher ? evaluator.heldout ?? [] : [];
  if (dispatcher) ctx.log(`writing the best candidates' noises and images to best/ (images rendered again by the workers${heldout.length > 0 ? `, scored by the held-out rewards ${heldout.join(", ")}` : ""})`);
  const searches = await readSearchRecords(ctx.evaluations);
  const trials = (await trialsOf(ctx.evaluations, ctx.plan, ctx.runId, searches)).trials;
  const heldoutScores = new Map<string, number[]>();
  const best = await writeBestFiles({
    dir: path.join(ctx.runDir, BEST_DIR), plan: ctx.plan, searches: searches.searches, trials,
    shape: evaluator.shape, withBase: true,
    render: dispatcher ? (items) => renderImages(items, evaluator, dispatcher, ctx.log, heldout, heldoutScores) : async () => new Map(),
  });
  if (heldout.length > 0) {
    rmSync(path.join(ctx.runDir, HELDOUT_FILE), { force: true });
    const candidates = heldoutCandidates(ctx.runId, ctx.plan, trials, searches.searches);
    const rows = candidates.flatMap((c) => (heldoutScores.has(c.stem) ? heldoutRowsOf(c, heldout, heldoutScores.get(c.stem) as number[]) : []));
    appendHeldoutRows(ctx.runDir, rows);
    const missing = candidates.filter((c) => !heldoutScores.has(c.stem)).length;
    ctx.log(`heldout.csv: ${rows.length} rows (${candidates.length - missing} candidates x ${heldout.length} held-out rewards)${missing > 0 ? `; ${missing} candidates could not be rendered: 'sweep rescore' adds them` : ""}`);
  }
  return best;
}

/** Seconds between the render phase's progress lines. */
const RENDER_PROGRESS_S = 10;

/**
 * The images of the best candidates, from the workers (the evaluation path itself), dispatched and
 * bounded as evaluations are (timeout, retries, the run's worker watch): each must score again
 * exactly as recorded, or the evaluation is not deterministic there and we say so.
 */
async function renderImages(
  items: RenderItem[], evaluator: EvaluatorSpec, dispatcher: Dispatcher, log: (line: string) => void, heldout: string[] = [], heldoutScores?: Map<string, number[]>,
): Promise<Map<string, Uint8Array>> {
  const images = new Map<string, Uint8Array>();
  const differing: string[] = [];
  let failed = 0;
  log(`rendering ${items.length} best images`);
  const progress = setInterval(() => log(`rendered ${images.size} of ${items.length} best images${failed > 0 ? `, ${failed} failed` : ""}`), RENDER_PROGRESS_S * 1000);
  try {
    await Promise.all(items.map(async (it) => {
      const outcome = await dispatcher.evaluate({
        evaluator, prompt: it.search.prompt, promptIndex: it.search.promptIndex, recipe: it.candidate.recipe, returnImage: true, ...(heldout.length > 0 ? { heldout } : {}),
      });
      const stem = candidateStem(it.search.searchId, it.candidate.evalIndex);
      if (outcome.status !== "ok" || !outcome.image) {
        failed++;
        return;
      }
      images.set(stem, outcome.image);
      if (outcome.heldout && outcome.heldout.length === heldout.length) heldoutScores?.set(stem, outcome.heldout);
      if (outcome.score !== it.score) differing.push(`${stem} (${it.score} recorded, ${outcome.score} again)`);
    }));
  } finally {
    clearInterval(progress);
  }
  if (differing.length > 0) log(`warning: ${differing.length} candidates scored differently when rendered again: ${differing.slice(0, 3).join(", ")}; scores on these workers are not reproducible`);
  return images;
}
