/**
 * Evolution candidates' noises from their recipes: a block of the first randn call of the seed's
 * torch generator, then each mutation child = f32(f32(parent * alpha) + f32(eps * beta)) with eps a
 * block of a later call on the same stream (../shared/reference/strategies/evosearch-spec.md,
 * section 3). Lineage prefixes' noises and each seed's generator (at the end of the last call it
 * drew) are kept, so a child of a known parent costs the draws between the two calls and one block.
 */
import { randnDraws, TorchGenerator } from "../noise/torch-generator.js";
import { Lru } from "../util/lru.js";
import { numel, type EvolutionRecipe, type NoiseShape } from "../domain/candidate.js";

const f32 = Math.fround;

/** EvoSearch's mutation weights for rate beta: alpha = f32(sqrt(1 - beta^2)) (in float64 first), b = f32(beta). */
export function mutationWeights(beta: number): { alpha: number; b: number } {
  return { alpha: f32(Math.sqrt(1 - beta * beta)), b: f32(beta) };
}

interface Stream {
  generator: TorchGenerator;
  /** Draws taken so far. */
  position: number;
}

export class EvolutionNoises {
  private readonly noises = new Lru<string, Float32Array>(8);
  /** `seed` -> the stream after its last call; `seed@offset` -> a copy at the start of a call (its other blocks). */
  private readonly streams = new Lru<string, Stream>(16);

  materialise(recipe: EvolutionRecipe, shape: NoiseShape): Float32Array {
    const D = numel(shape);
    if (D < 16) throw new Error(`an evolution recipe needs a noise of at least 16 values (got shape [${shape}])`);
    const keys: string[] = [`${recipe.seed}|${recipe.initialCount}|${recipe.member}|${recipe.mutationRate}|${shape.join(",")}`];
    for (const m of recipe.mutations) keys.push(`${keys[keys.length - 1]}/${m.offset}.${m.count}.${m.block}`);
    let done = recipe.mutations.length;
    let noise: Float32Array | undefined;
    for (; done >= 0 && !noise; done--) noise = this.noises.get(keys[done]);
    if (noise) {
      done++;
    } else {
      noise = this.draw(recipe.seed, 0, recipe.initialCount, recipe.member, D);
      this.noises.set(keys[0], noise);
      done = 0;
    }
    const { alpha, b } = mutationWeights(recipe.mutationRate);
    for (; done < recipe.mutations.length; done++) {
      const m = recipe.mutations[done];
      const eps = this.draw(recipe.seed, m.offset, m.count, m.block, D);
      const child = new Float32Array(D);
      for (let i = 0; i < D; i++) child[i] = f32(f32(noise[i] * alpha) + f32(eps[i] * b));
      noise = child;
      this.noises.set(keys[done + 1], noise);
    }
    return noise.slice();
  }

  /** Block `block` (D values) of the randn call of `count` values that starts after `offset` draws of the seed's stream. */
  private draw(seed: number, offset: number, count: number, block: number, D: number): Float32Array {
    if (count < 16 || (block + 1) * D > count) throw new Error(`block ${block} of ${D} values does not fit a randn call of ${count}`);
    const at = this.streams.get(`${seed}@${offset}`);
    let stream = at ? { generator: at.generator.clone(), position: offset } : this.streams.get(`${seed}`);
    if (!stream || stream.position > offset) stream = { generator: new TorchGenerator(seed), position: 0 };
    stream.generator.skip(offset - stream.position);
    if (!at) this.streams.set(`${seed}@${offset}`, { generator: stream.generator.clone(), position: offset });
    const values = stream.generator.randnSlice(count, block * D, D);
    stream.position = offset + randnDraws(count);
    this.streams.set(`${seed}`, stream);
    return values;
  }
}
