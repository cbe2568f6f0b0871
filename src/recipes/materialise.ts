/**
 * Rebuilds a candidate's noise from its recipe with the same code everywhere (coordinator, worker,
 * `sweep noise`). SES base-noise wavelet splits are cached per (seed, shape, wavelet, level), so
 * an SES candidate costs one waverec2; zero-order and evolution keep their lineages' last noises.
 */
import { torchRandn } from "../noise/torch-generator.js";
import { cropPlanes, wavedec2, waverec2, type Decomposition, type Planes } from "../wavelets/dwt.js";
import { Lru } from "../util/lru.js";
import { EvolutionNoises } from "./evolution-noise.js";
import { ZeroOrderNoises } from "./zero-order-noise.js";
import { type NoiseShape, type Recipe, numel } from "../domain/candidate.js";

export class NoiseFactory {
  private readonly splits: Lru<string, Decomposition>;
  private readonly zeroOrder = new ZeroOrderNoises();
  private readonly evolution = new EvolutionNoises();

  constructor(maxCachedSplits = 64) {
    this.splits = new Lru(maxCachedSplits);
  }

  materialise(recipe: Recipe, shape: NoiseShape): Float32Array {
    switch (recipe.kind) {
      case "random":
        return torchRandn(recipe.seed, numel(shape));
      case "ses":
        return this.sesNoise(recipe, shape);
      case "zero-order":
        return this.zeroOrder.materialise(recipe, shape);
      case "evolution":
        return this.evolution.materialise(recipe, shape);
    }
  }

  private baseSplit(seed: number, shape: NoiseShape, wavelet: string, level: number): Decomposition {
    return this.splits.getOrCreate(`${seed}|${shape.join(",")}|${wavelet}|${level}`,
      () => wavedec2(toPlanes(torchRandn(seed, numel(shape)), shape), wavelet, level));
  }

  private sesNoise(recipe: Extract<Recipe, { kind: "ses" }>, shape: NoiseShape): Float32Array {
    const base = this.baseSplit(recipe.baseSeed, shape, recipe.wavelet, recipe.level);
    if (recipe.low.length !== base.cA.data.length) {
      throw new Error(`SES recipe has ${recipe.low.length} low-band values, expected ${base.cA.data.length}`);
    }
    const cA: Planes = { ...base.cA, data: recipe.low };
    // waverec2 of odd sizes is one longer; the reference crops to the latent size.
    return cropPlanes(waverec2({ cA, details: base.details }, recipe.wavelet), shape[2], shape[3]).data;
  }
}

export function toPlanes(data: Float32Array, shape: NoiseShape): Planes {
  const rows = shape[2];
  const cols = shape[3];
  return { data, batch: data.length / (rows * cols), rows, cols };
}
