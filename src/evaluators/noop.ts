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
    case "zero-order":
      return recipe.steps.reduce((score, s) => score + unit(s.round * 1009 + s.neighbor + 1) - 0.5, unit(recipe.pivotSeed));
    case "evolution":
      return recipe.mutations.reduce((score, m) => score + unit(m.offset + m.block) - 0.5, unit(recipe.seed + recipe.member));
  }
}
