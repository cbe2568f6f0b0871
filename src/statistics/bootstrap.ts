/**
 * Percentile bootstrap confidence intervals over paired units (here (prompt, seed) pairs), with a
 * fixed resampling seed so a report is reproducible. Resampling indices come from mt19937.
 */
import { MT19937 } from "../noise/mt19937.js";
import { percentile } from "./descriptive.js";

export const DEFAULT_RESAMPLES = 10_000;
export const DEFAULT_BOOTSTRAP_SEED = 12345;

export interface Interval {
  low: number;
  high: number;
}

/**
 * 95% (by default) percentile interval of the mean of `xs`. Resample b draws its n indices as
 * floor(u * n) from consecutive mt19937 outputs u / 2^32, drawn as they are used (an index matrix
 * of n x resamples would take 32 MB for 800 pairs).
 */
export function bootstrapMeanCi(xs: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  const n = xs.length;
  if (n === 0) return { low: NaN, high: NaN };
  // Every resample of one value is that value: the interval is exact without drawing (per-prompt cells of one seed).
  if (n === 1) return { low: xs[0], high: xs[0] };
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const rng = new MT19937(opts.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor((rng.next() / 4294967296) * n)];
    means[b] = s / n;
  }
  return intervalOf(means, opts.level ?? 0.95);
}

export function intervalOf(values: Float64Array, level: number): Interval {
  const sorted = Array.from(values).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { low: percentile(sorted, 100 * alpha), high: percentile(sorted, 100 * (1 - alpha)) };
}
