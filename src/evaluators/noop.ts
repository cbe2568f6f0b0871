/**
 * The noop evaluator: a deterministic score from the recipe alone, no noise materialised, so a
 * run measures the runner (planning, ask/tell, transport, CSV) and nothing else.
 */
import { splitMix64 } from "../noise/derived-seed.js";
import type { Recipe } from "../domain/candidate.js";

export function recipeScore(recipe: Recipe, promptIndex: number): number {
  const unit = (seed: number) => Number(splitMix64(seed, promptIndex + 1) >> 11n) / 2 ** 53;
  switch (recipe.kind) {
    case "random":
      return unit(recipe.seed);
    case "ses":
      return unit(recipe.baseSeed) + recipe.low[0] + recipe.low[recipe.low.length - 1];
  }
}
