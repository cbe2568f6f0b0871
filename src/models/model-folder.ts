/** A model directory is written whole or not at all. */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { ModelInputError } from "./model-error.js";

/**
 * Writes the new folder `outDir` through a temporary sibling renamed at the end, so a failed import
 * leaves nothing. `write` fills the temporary folder; a ModelInputError naming files in it is told
 * again through `rename` (the user's own files, not their links in the temporary folder).
 */
export async function writeModelFolder<T>(outDir: string, write: (tmp: string) => Promise<T>, rename: (message: string, tmp: string) => string): Promise<T> {
  const out = path.resolve(outDir);
  if (existsSync(out)) throw new ModelInputError(`--out ${out}: already exists; remove it or choose another folder`);
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const result = await write(tmp);
    renameSync(tmp, out);
    return result;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof ModelInputError) throw new ModelInputError(rename(e.message, tmp));
    throw e;
  }
}
