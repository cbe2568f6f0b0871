import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync } from "node:fs";

/** A run id that sorts by start time: 20261125-224802-3fa1 (UTC). */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

export class RunDirError extends Error {}

/** Creates the run folder; an existing non-empty folder is refused so no earlier result is touched. */
export function createRunDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new RunDirError(`run folder ${dir} already exists and is not empty; choose another --run-dir`);
  }
  mkdirSync(dir, { recursive: true });
}
