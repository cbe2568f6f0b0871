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

/** Columns bootstrapped together: their means take resamples x this many x 8 bytes. */
export const COLUMNS_AT_ONCE = 256;

/**
 * The intervals bootstrapMeanCi gives each column (all of one length n), bit for bit: with one seed
 * every column draws the same resample indices, so they are drawn once per COLUMNS_AT_ONCE columns
 * rather than once per column (a report's budget-curve points and cells share their n).
 */
export function bootstrapMeanCis(columns: readonly (readonly number[])[], opts: { resamples?: number; seed?: number; level?: number } = {}): Interval[] {
  const n = columns[0]?.length ?? 0;
  if (columns.some((c) => c.length !== n)) throw new Error("bootstrapMeanCis: columns of different lengths");
  if (n <= 1) return columns.map((c) => bootstrapMeanCi(c, opts));
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const out: Interval[] = [];
  for (let start = 0; start < columns.length; start += COLUMNS_AT_ONCE) {
    const chunk = columns.slice(start, start + COLUMNS_AT_ONCE).map((c) => Float64Array.from(c));
    const rng = new MT19937(opts.seed ?? DEFAULT_BOOTSTRAP_SEED);
    const means = chunk.map(() => new Float64Array(resamples));
    const index = new Int32Array(n);
    for (let b = 0; b < resamples; b++) {
      for (let i = 0; i < n; i++) index[i] = Math.floor((rng.next() / 4294967296) * n);
      // each column summed in draw order, as bootstrapMeanCi sums it
      for (let c = 0; c < chunk.length; c++) {
        const xs = chunk[c];
        let sum = 0;
        for (let i = 0; i < n; i++) sum += xs[index[i]];
        means[c][b] = sum / n;
      }
    }
    for (const m of means) out.push(intervalOf(m, opts.level ?? 0.95));
  }
  return out;
}

export function intervalOf(values: Float64Array, level: number): Interval {
  // A typed array sorts numerically, as the comparator did, several times faster.
  const sorted = Float64Array.from(values).sort();
  const alpha = (1 - level) / 2;
  return { low: percentile(sorted, 100 * alpha), high: percentile(sorted, 100 * (1 - alpha)) };
}
