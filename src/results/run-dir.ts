import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import path from "node:path";
import { InputError } from "../domain/input-error.js";

/** A run id that sorts by start time: 20261125-224802-3fa1 (UTC). */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/**
 * A run folder that cannot be used as asked (exists, not creatable, held by another coordinator):
 * exit code 2. `subject` is where the folder came from (a flag, or the config's output).
 */
export class RunDirError extends InputError {}

const WHY: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "not permitted here",
  EROFS: "a read-only file system",
  ENOSPC: "no space left",
  ENOENT: "this file system does not allow it",
  ENOTDIR: "a file is in the way",
  EEXIST: "a file is in the way",
  ENAMETOOLONG: "the name is too long",
};

/**
 * Creates `dir` and its missing parents, one level at a time (mkdirSync's recursive mode never
 * returns under /proc), or throws RunDirError naming `what` (the flag or config field it came from)
 * and why. Folders it made before failing are removed again: nothing is left behind.
 */
export function createFolder(dir: string, what: string): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  while (!existsSync(p)) {
    missing.unshift(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
  }
  if (existsSync(p) && !statSync(p).isDirectory()) {
    throw new RunDirError(`cannot create ${dir}: ${p} is a file, not a folder`, what);
  }
  const made: string[] = [];
  for (const m of missing) {
    try {
      mkdirSync(m);
      made.push(m);
    } catch (e) {
      for (const d of made.reverse()) rmdirSync(d);
      const code = (e as NodeJS.ErrnoException).code ?? "";
      throw new RunDirError(`cannot create ${dir}: ${WHY[code] ?? (e as Error).message} (${code || "error"} at ${m})`, what);
    }
  }
}

/**
 * Creates the run folder; an existing non-empty folder is refused so no earlier result is touched.
 * `what` names where the folder came from: --run-dir, or the config's output.
 */
export function createRunDir(dir: string, what: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RunDirError(`${dir} is a file, not a folder`, what);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new RunDirError(`run folder ${dir} already exists and is not empty; choose another`, what);
  }
  createFolder(dir, what);
}
