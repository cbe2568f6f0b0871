import { pathToFileURL } from "node:url";
import type { EvaluationInput, Evaluator } from "./evaluator.js";

/** A user's ES module: its default export score({ noise, shape, prompt, promptIndex }) gives the score. */
export async function loadModuleEvaluator(file: string): Promise<Evaluator> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const fn = mod.default;
  if (typeof fn !== "function") throw new Error(`module ${file} has no default export function`);
  return { score: (input: EvaluationInput) => fn(input) };
}
