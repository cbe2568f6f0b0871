/**
 * What a run tells its user: results on `out` (stdout), everything else (progress, log lines,
 * why it stopped and how to resume) on `err` (stderr).
 */
import path from "node:path";
import type { Plan } from "../plan/plan.js";
import { BEST_DIR } from "../results/best-files.js";
import type { BestFiles } from "../results/write-best-files.js";
import type { GrpcExecutor } from "./links/grpc-executor.js";
import type { SearchResult } from "./search-runner.js";
import type { Sweep } from "../domain/sweep.js";

/** Failed searches listed one by one; manifest.json lists them all. */
const LISTED_FAILURES = 20;

export class RunMessages {
  constructor(private readonly out: NodeJS.WritableStream, private readonly err: NodeJS.WriteStream) {}

  /** A log line: "[sweep] ..." on stderr. */
  readonly log = (line: string): void => {
    this.err.write(`[sweep] ${line}\n`);
  };

  /** Where the user reads progress and problems (stderr). */
  get stream(): NodeJS.WriteStream {
    return this.err;
  }

  starting(sweep: Sweep, plan: Plan, workers: GrpcExecutor, runDir: string, resumed?: { recorded: number; errors: number }): void {
    this.err.write(`sweep ${sweep.name}: ${plan.searches.length} searches, ${plan.trials} trials, ${plan.evaluations} evaluations on ${workersUp(workers)} -> ${runDir}\n`);
    if (!resumed) return;
    const retried = resumed.errors > 0 ? ` (${resumed.errors} failed before: evaluated again, their searches retried from there)` : "";
    this.err.write(`resuming: ${resumed.recorded} evaluations already recorded, ${plan.evaluations - resumed.recorded} to go${retried}\n`);
  }

  cannotWriteEvaluations(e: Error): void {
    this.err.write(`\nsweep: cannot write evaluations.csv (${(e as NodeJS.ErrnoException).code ?? e.message}): stopping; what is on disk is kept\n`);
  }

  setupFailed(failure: string, evaluatedAny: boolean, resumeCommand: string): void {
    // with nothing recorded there is nothing to resume: the user fixes the setup and starts again
    this.err.write(`sweep: ${failure}\n${evaluatedAny ? `Recorded evaluations are kept; resume with: ${resumeCommand}` : "Nothing was evaluated; fix this and start the run again"}\n`);
  }

  manifestNotUpdated(e: Error): void {
    this.err.write(`sweep: manifest.json not updated either (${e.message})\n`);
  }

  stoppedForDisk(reason: string, resumeCommand: string): void {
    this.err.write(`Run interrupted (${reason}); the evaluations on disk are kept.\nFree some space, then resume with: ${resumeCommand}\n`);
  }

  summary(table: string): void {
    this.out.write(`\n${table}\n`);
  }

  reportWritten(files: string[]): void {
    this.out.write(`\nReport: ${files.filter((f) => /report\.(md|html)$|\.png$/.test(f)).join(", ")}\n`);
  }

  reportFailed(e: Error, runDir: string): void {
    this.err.write(`could not write the report (${e.message}); run 'sweep report ${runDir}' to retry\n`);
  }

  results(runDir: string, best: BestFiles | undefined, renderCommand: string): void {
    if (best) this.out.write(`\nBest candidates: ${best.noises} noises and ${best.images} images for ${best.trials} trials in ${path.join(runDir, BEST_DIR)} (index.csv)\n`);
    if (best?.missingImages) {
      const k = best.missingImages;
      this.err.write(`${k} best image${k === 1 ? "" : "s"} missing from ${BEST_DIR}/ (not rendered, or not written: the image cell in index.csv is empty); render ${k === 1 ? "it" : "them"} with: ${renderCommand}\n`);
    }
    this.out.write(`\nResults: ${runDir}\n`);
  }

  failedSearches(failed: SearchResult[], of: number): void {
    if (failed.length === 0) return;
    this.err.write(`\n${failed.length} of ${of} searches failed:\n`);
    for (const f of failed.slice(0, LISTED_FAILURES)) this.err.write(`  ${f.searchId}: ${f.error}\n`);
    if (failed.length > LISTED_FAILURES) this.err.write(`  ... and ${failed.length - LISTED_FAILURES} more (manifest.json lists them all)\n`);
  }

  interrupted(recorded: number, runDir: string, resumeCommand: string, why?: string): void {
    this.err.write(`Run interrupted${why ? ` (${why})` : ""}; ${recorded} evaluations recorded in ${runDir}\n`);
    this.err.write(`Resume with: ${resumeCommand}\n`);
  }
}

/** The workers as the run starts: as soon as one is up, so the others may still be connecting. */
function workersUp(executor: GrpcExecutor): string {
  const known = executor.summary().filter((w) => w.state !== "removed");
  const up = known.filter((w) => w.state === "up").length;
  const slots = `${executor.capacity} slot${executor.capacity === 1 ? "" : "s"}`;
  if (up === known.length) return `${up} worker${up === 1 ? "" : "s"}, ${slots}`;
  return `${up} of ${known.length} workers up so far, ${slots} (the others join as they come up)`;
}
