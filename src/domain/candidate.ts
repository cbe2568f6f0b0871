/**
 * Candidate recipes: how to rebuild a noise rather than the noise itself (a (1,128,64,64) float32
 * noise is 2 MiB; a random recipe is one integer, an SES recipe 2048 floats, a zero-order or
 * evolution recipe a few integers per step of its lineage).
 */
export type Recipe =
  | { kind: "random"; seed: number }
  | { kind: "ses"; baseSeed: number; wavelet: string; level: number; low: Float32Array }
  | ZeroOrderRecipe
  | EvolutionRecipe;

/** One move of zero-order search: to neighbour `neighbor` of round `round` of the pivot so far. */
export interface ZeroOrderStep {
  round: number;
  neighbor: number;
}

/**
 * A zero-order neighbour: from noise(pivotSeed), each step moves to a neighbour on the sphere at
 * cosine `threshold`, towards the normals of numpy's generator seeded with SeedSequence([runSeed,
 * round]) (the neighbour's own D after those of the neighbours before it).
 */
export interface ZeroOrderRecipe {
  kind: "zero-order";
  pivotSeed: number;
  runSeed: number;
  threshold: number;
  steps: readonly ZeroOrderStep[];
}

/** One mutation: child = f32(f32(parent * alpha) + f32(eps * beta)), eps = block `block` of a randn call. */
export interface EvolutionMutation {
  /** Draws of the generator taken before the randn call of the mutation noise. */
  offset: number;
  /** Values that randn call draws (children of the generation x noise size). */
  count: number;
  /** Which noise-sized block of the call is this child's. */
  block: number;
}

/**
 * An evolution member: block `member` of the first randn call (`initialCount` values) of the torch
 * generator seeded with `seed`, then each mutation in order, with rate `mutationRate`.
 */
export interface EvolutionRecipe {
  kind: "evolution";
  seed: number;
  initialCount: number;
  member: number;
  mutationRate: number;
  mutations: readonly EvolutionMutation[];
}

/** One noise a strategy asks to have scored. */
export interface Candidate {
  /** Position in the order the strategy asked, from 0. */
  evalIndex: number;
  /** SES or evolution generation, zero-order round; null for strategies without them. */
  generation: number | null;
  /**
   * The torch seed that (re)creates this noise (SES: the base noise it was derived from); null for
   * a noise that is no seed's (a zero-order neighbour, an evolution child).
   */
  noiseSeed: number | null;
  recipe: Recipe;
}

/** Noise shape (1, C, H, W) of FLUX.2 latents and of the synthetic and module evaluators. */
export type NoiseShape = readonly [number, number, number, number];

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
