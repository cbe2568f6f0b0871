/**
 * Exiting a worker process whose threads may be inside onnxruntime. process.exit waits for every
 * thread to come back to JavaScript, so a thread inside one long graph run (a whole FLUX.2 batch)
 * would hold the exit until the run ends, and then abort the process (exit 134). The native addon
 * (native/exit_now.c, built by `npm ci` with the noise addon) ends the process at once instead;
 * without it (no compiler at `npm ci`) the caller waits for the runs to end.
 */
import { createRequire } from "node:module";

const ADDON_PATH = "../../build/Release/exit_now.node";

function load(): { exit: ((code: number) => never) | null; missing: string | null } {
  try {
    return { exit: (createRequire(import.meta.url)(ADDON_PATH) as { exitNow: (code: number) => never }).exitNow, missing: null };
  } catch (err) {
    return { exit: null, missing: `not loadable (build/Release/exit_now.node: ${(err as Error).message.split("\n")[0]})` };
  }
}

const addon = load();

/** Why the process cannot exit at once (for the tests' skip notes); null where it can. */
export const exitNowMissing: string | null = addon.missing;

/** Ends the process at once with `code` where the addon is built; returns where it is not (the caller then waits for the runs). */
export function exitNow(code: number): void {
  addon.exit?.(code);
}
