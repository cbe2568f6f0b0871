/**
 * `sweep rescore RUN_DIR --heldout NAME,...`: the held-out check of a finished flux2 run. Each
 * trial's best candidate and each (prompt, seed)'s base noise is rendered again on the workers and
 * scored there by the held-out rewards; each render must score as recorded on the optimised reward
 * (else the workers compute differently, and we say so). Rows go to heldout.csv as candidates
 * finish, and a candidate whose rows are all there is not rendered again: an interrupted rescore,
 * resumed, redoes nothing. Images missing from best/ are written there.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InputError } from "../domain/input-error.js";
import { planSweep } from "../plan/plan.js";
import { BEST_DIR } from "../results/best-files.js";
import { EVALUATIONS_FILE } from "../results/evaluations-csv.js";
import { appendHeldoutRows, heldoutCandidates, heldoutKey, heldoutRowsOf, readHeldoutRows, sortHeldoutFile, type HeldoutCandidate } from "../results/heldout-csv.js";
import { readRunManifest } from "../results/manifest.js";
import { RunLock } from "../results/run-lock.js";
import { replayCandidates } from "../results/replay.js";
import { readSearchRecords } from "../results/search-records.js";
import { trialsOf } from "../results/trials.js";
import { Dispatcher } from "./dispatcher.js";
import { evaluatorBatch } from "./scheduling/policy.js";
import { connectWorkers, workerSource } from "./workers/run-workers.js";
import type { Sweep } from "../domain/sweep.js";

export interface RescoreOptions {
  heldout: string[];
  workers?: string[];
  threads?: number;
  token?: string;
  modelRoot?: string;
  cliEntry: string;
  workerWait?: number;
  stop?: AbortSignal;
  log: (line: string) => void;
}

export interface RescoreOutcome {
  candidates: number;
  /** candidates scored now (the others were recorded before) */
  scored: number;
  failed: number;
  /** candidates whose render scored differently on the optimised reward */
  differing: number;
}

export async function rescoreRun(runDir: string, opts: RescoreOptions): Promise<RescoreOutcome> {
  const manifest = readRunManifest(runDir);
  const sweep: Sweep = manifest.config;
  const e = sweep.evaluator;
  if (e.kind !== "flux2-pickscore") throw new InputError(`${runDir} was scored by the ${e.kind} evaluator, which makes no images: held-out rewards score images`);
  const optimised = e.reward ?? e.model;
  for (const h of opts.heldout) if (h === optimised) throw new InputError(`held-out reward '${h}' is the run's optimised one: a held-out reward must be another`, "--heldout");
  const evaluator = { ...e, heldout: opts.heldout };
  const source = workerSource({ ...sweep, evaluator }, { workers: opts.workers, threads: opts.threads, modelRoot: opts.modelRoot, cliEntry: opts.cliEntry });
  const lock = RunLock.acquire(runDir, opts.log);
  try {
    const plan = planSweep(sweep);
    const records = await readSearchRecords(path.join(runDir, EVALUATIONS_FILE), manifest.run_id);
    const { trials } = await trialsOf(path.join(runDir, EVALUATIONS_FILE), plan, manifest.run_id, records);
    const candidates = heldoutCandidates(manifest.run_id, plan, trials, records.searches);
    const done = new Set(readHeldoutRows(runDir).map((r) => heldoutKey(r, r.reward)));
    const todo = candidates.filter((c) => c.rows.some((r) => opts.heldout.some((h) => !done.has(heldoutKey(r, h)))));
    opts.log(`held-out check of ${runDir}: ${candidates.length} candidates, ${candidates.length - todo.length} already in heldout.csv, ${todo.length} to render and score with ${opts.heldout.join(", ")}`);
    if (todo.length === 0) return { candidates: candidates.length, scored: 0, failed: 0, differing: 0 };
    const workers = await connectWorkers(source, { token: opts.token, evaluator: evaluator.kind, batch: evaluatorBatch(evaluator), log: opts.log });
    try {
      await workers.executor.waitForWorkers((opts.workerWait ?? 60) * 1000);
      const dispatcher = new Dispatcher(workers.executor, { timeoutMs: sweep.execution.timeout_s * 1000, retries: sweep.execution.retries, stop: opts.stop ?? new AbortController().signal });
      const outcome = await scoreAll(runDir, todo, evaluator, opts.heldout, done, records.searches, dispatcher, opts.log);
      sortHeldoutFile(runDir, candidates);
      return { candidates: candidates.length, ...outcome };
    } finally {
      await workers.close();
    }
  } finally {
    lock.release();
  }
}

async function scoreAll(
  runDir: string, todo: HeldoutCandidate[], evaluator: Extract<Sweep["evaluator"], { kind: "flux2-pickscore" }>, heldout: string[], done: Set<string>,
  searches: Awaited<ReturnType<typeof readSearchRecords>>["searches"], dispatcher: Dispatcher, log: (line: string) => void,
): Promise<Omit<RescoreOutcome, "candidates">> {
  mkdirSync(path.join(runDir, BEST_DIR), { recursive: true });
  let scored = 0;
  let failed = 0;
  const differing: string[] = [];
  await Promise.all(todo.map(async (c) => {
    const record = searches.get(c.search.searchId);
    const candidate = record ? replayCandidates(c.search, record, evaluator.shape, new Set([c.evalIndex])).get(c.evalIndex) : undefined;
    if (!candidate) {
      failed++;
      return;
    }
    const outcome = await dispatcher.evaluate({ evaluator, prompt: c.search.prompt, promptIndex: c.search.promptIndex, recipe: candidate.recipe, returnImage: true, heldout });
    if (outcome.status !== "ok" || !outcome.heldout || outcome.heldout.length !== heldout.length) {
      failed++;
      if (outcome.status === "error") log(`${c.stem}: ${outcome.error}`);
      return;
    }
    if (outcome.score !== c.optimisedScore) differing.push(`${c.stem} (${c.optimisedScore} recorded, ${outcome.score} again)`);
    const image = path.join(runDir, BEST_DIR, `${c.stem}.png`);
    if (outcome.image && !existsSync(image)) writeFileSync(image, outcome.image);
    appendHeldoutRows(runDir, heldoutRowsOf(c, heldout, outcome.heldout).filter((r) => !done.has(heldoutKey(r, r.reward))));
    scored++;
  }));
  if (differing.length > 0) log(`warning: ${differing.length} candidates scored differently on the optimised reward when rendered again: ${differing.slice(0, 3).join(", ")}; these workers do not reproduce the run's scores`);
  if (failed > 0) log(`${failed} candidates could not be rendered or scored; run 'sweep rescore' again to add them`);
  return { scored, failed, differing: differing.length };
}
