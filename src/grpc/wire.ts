/** Recipes and evaluator specs to and from their proto messages. */
import type { Recipe } from "../recipes/recipe.js";
import type { WireCandidate } from "./proto.js";

export function recipeToWire(id: number, recipe: Recipe): WireCandidate {
  switch (recipe.kind) {
    case "random":
      return { id, random: { seed: recipe.seed } };
    case "ses":
      return { id, ses: { base_seed: recipe.baseSeed, wavelet: recipe.wavelet, level: recipe.level, low: Array.from(recipe.low) } };
    case "tensor":
      return { id, tensor: { data: Array.from(recipe.data) } };
  }
}

export function recipeFromWire(c: WireCandidate): Recipe {
  if (c.random) return { kind: "random", seed: c.random.seed };
  if (c.ses) return { kind: "ses", baseSeed: c.ses.base_seed, wavelet: c.ses.wavelet, level: c.ses.level, low: Float32Array.from(c.ses.low) };
  if (c.tensor) return { kind: "tensor", data: Float32Array.from(c.tensor.data) };
  throw new Error(`candidate ${c.id} has no recipe`);
}
