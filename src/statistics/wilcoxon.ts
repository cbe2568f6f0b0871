/**
 * Wilcoxon signed-rank test, two-sided, as scipy.stats.wilcoxon computes it with its defaults
 * (zero_method "wilcox": zero differences dropped; no continuity correction): the exact
 * distribution when n <= 50 with no ties and no zeros, otherwise the normal approximation with the
 * tie correction. Matched against scipy 1.10.1 (Debian 12), called with method "exact" or "approx"
 * by that rule (what scipy's method="auto" does since 1.13; 1.10 also took "exact" with ties).
 */
export interface WilcoxonResult {
  statistic: number;
  pvalue: number;
  method: "exact" | "approx";
  /** Differences left after dropping zeros. */
  n: number;
}

/** Average ranks (1-based) of |d|, ties sharing their mean rank, as scipy's rankdata. */
function ranks(values: number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(values.length);
  const tieSizes: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k][1]] = avg;
    if (j > i) tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks: r, tieSizes };
}

/** Probabilities of r_plus = 0 .. n(n+1)/2 under H0 (scipy's _get_wilcoxon_distr). */
function exactDistribution(n: number): Float64Array {
  let c = new Float64Array([1]);
  for (let k = 1; k <= n; k++) {
    const next = new Float64Array((k * (k + 1)) / 2 + 1);
    const m = c.length;
    for (let i = 0; i < m; i++) next[i] += c[i] * 0.5;
    for (let i = 0; i < m; i++) next[next.length - m + i] += c[i] * 0.5;
    c = next;
  }
  return c;
}

export function wilcoxon(differences: readonly number[]): WilcoxonResult {
  const d = differences.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return { statistic: NaN, pvalue: NaN, method: "approx", n };
  const { ranks: r, tieSizes } = ranks(d.map(Math.abs));
  let rPlus = 0;
  let rMinus = 0;
  d.forEach((x, i) => (x > 0 ? (rPlus += r[i]) : (rMinus += r[i])));
  const statistic = Math.min(rPlus, rMinus);
  const zeros = differences.length - n;
  if (differences.length <= 50 && zeros === 0 && tieSizes.length === 0) {
    const pmf = exactDistribution(n);
    const center = (pmf.length - 1) / 2;
    let pvalue: number;
    if (rPlus === center) {
      pvalue = 1;
    } else {
      let less = 0;
      let greater = 0;
      for (let i = 0; i <= rPlus; i++) less += pmf[i];
      for (let i = rPlus; i < pmf.length; i++) greater += pmf[i];
      pvalue = Math.min(1, 2 * Math.min(less, greater));
    }
    return { statistic, pvalue, method: "exact", n };
  }
  const mn = (n * (n + 1)) / 4;
  let se = n * (n + 1) * (2 * n + 1);
  for (const t of tieSizes) se -= 0.5 * t * (t * t - 1);
  se = Math.sqrt(se / 24);
  const z = (statistic - mn) / se;
  return { statistic, pvalue: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)), method: "approx", n };
}

/**
 * Complementary error function to near double precision: a positive-term series for x < 2.5,
 * Lentz's continued fraction beyond (so tiny p-values keep their relative accuracy).
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    // erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1))
    let term = x;
    let sum = x;
    for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
      term *= (2 * x * x) / (2 * k + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  // erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
