/**
 * Zero-order candidates' noises from their recipes: the pivot chain from its seed, one sphere
 * neighbour per step (src/noise/sphere-neighbour.ts), towards numpy normals of the step's round.
 * A round's neighbours and a chain's pivots are usually rebuilt one after another on the same
 * thread, so the noises of chain prefixes and the generators at each neighbour's first normal are
 * kept (a few of each): a neighbour then costs its own D normals and one neighbour computation.
 */
import { NumpyGenerator } from "../noise/numpy-generator.js";
import { SphereNeighbours } from "../noise/sphere-neighbour.js";
import { torchRandn } from "../noise/torch-generator.js";
import { Lru } from "../util/lru.js";
import { numel, type NoiseShape, type ZeroOrderRecipe } from "../domain/candidate.js";

export class ZeroOrderNoises {
  private readonly noises = new Lru<string, Float32Array>(8);
  /** `runSeed|round|neighbour|D` -> the round's generator at that neighbour's first normal. */
  private readonly generators = new Lru<string, NumpyGenerator>(32);
  private readonly sphere = new SphereNeighbours();
  private normals = new Float64Array(0);

  materialise(recipe: ZeroOrderRecipe, shape: NoiseShape): Float32Array {
    const D = numel(shape);
    const keys: string[] = [`${recipe.pivotSeed}|${recipe.runSeed}|${recipe.threshold}|${shape.join(",")}`];
    for (const s of recipe.steps) keys.push(`${keys[keys.length - 1]}/${s.round}.${s.neighbor}`);
    let done = recipe.steps.length;
    let noise: Float32Array | undefined;
    for (; done > 0 && !noise; done--) noise = this.noises.get(keys[done]);
    if (noise) done++;
    noise ??= torchRandn(recipe.pivotSeed, D);
    for (; done < recipe.steps.length; done++) {
      const { round, neighbor } = recipe.steps[done];
      noise = this.sphere.neighbour(noise, this.directions(recipe.runSeed, round, neighbor, D), recipe.threshold);
      this.noises.set(keys[done + 1], noise);
    }
    // The cached arrays stay unchanged whatever the caller does with its copy.
    return recipe.steps.length > 0 ? noise.slice() : noise;
  }

  /** The D normals of neighbour j of a round: those of neighbours 0..j-1 are drawn first. */
  private directions(runSeed: number, round: number, j: number, D: number): Float64Array {
    const key = (n: number) => `${runSeed}|${round}|${n}|${D}`;
    let from = j;
    let cached: NumpyGenerator | undefined;
    for (; from >= 0 && !cached; from--) cached = this.generators.get(key(from));
    from = cached ? from + 1 : 0;
    const generator = cached ? cached.clone() : new NumpyGenerator([runSeed, round]);
    for (; from < j; from++) {
      generator.skipStandardNormals(D);
      this.generators.set(key(from + 1), generator.clone());
    }
    if (this.normals.length !== D) this.normals = new Float64Array(D);
    generator.fillStandardNormal(this.normals);
    this.generators.set(key(j + 1), generator);
    return this.normals;
  }
}
