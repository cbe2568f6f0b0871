/**
 * Noise seeds of a random search's candidates k >= 1: the high 32 bits of the k-th output of
 * SplitMix64 seeded with the trial seed. 32 bits because torch keeps only the low 32 bits of a seed;
 * a hash (not seed + k) so that one trial's candidates never replay another seed's base noise.
 * Python: z = (seed + k*0x9E3779B97F4A7C15) % 2**64; z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64;
 *         z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64; noise_seed = (z ^ (z >> 31)) >> 32
 */
const MASK64 = (1n << 64n) - 1n;

export function splitMix64(seed: number | bigint, k: number): bigint {
  let z = (BigInt(seed) + BigInt(k) * 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

export function derivedNoiseSeed(seed: number, k: number): number {
  return Number(splitMix64(seed, k) >> 32n);
}
