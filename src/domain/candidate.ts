/**
 * Candidate recipes: how to rebuild a noise rather than the noise itself (a (1,128,64,64) float32
 * noise is 2 MiB; a random recipe is one integer, an SES recipe 2048 floats).
 */
export type Recipe =
  | { kind: "random"; seed: number }
  | { kind: "ses"; baseSeed: number; wavelet: string; level: number; low: Float32Array };

/** One noise a strategy asks to have scored. */
export interface Candidate {
  /** Position in the order the strategy asked, from 0. */
  evalIndex: number;
  /** SES generation; null for strategies without generations. */
  generation: number | null;
  /** The torch seed that (re)creates this noise, or the base noise it was derived from. */
  noiseSeed: number;
  recipe: Recipe;
}

/** Noise shape (1, C, H, W) of FLUX.2 latents and of the synthetic and module evaluators. */
export type NoiseShape = readonly [number, number, number, number];

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
