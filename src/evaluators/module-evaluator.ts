import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { EvaluationInput, Evaluator } from "./evaluator.js";

/**
 * A user's ES module: its default export score({ noise, shape, prompt, promptIndex }) gives the score.
 * `file` is the real path the worker checked inside its model root (ModelRoot.resolve); a path that
 * is no longer its own real path (a folder or the file replaced by a link since) is not imported.
 */
export async function loadModuleEvaluator(file: string): Promise<Evaluator> {
  if (realpathSync(file) !== file) throw new Error(`module ${file} changed into a symbolic link after it was checked; not imported`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const fn = mod.default;
  if (typeof fn !== "function") throw new Error(`module ${file} has no default export function`);
  return { score: (input: EvaluationInput) => fn(input) };
}
