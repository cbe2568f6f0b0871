import { describe, expect, it } from "vitest";
import { bootstrapMeanCi, bootstrapMeanCis, COLUMNS_AT_ONCE } from "../src/statistics/bootstrap.js";
import { mean, median, sampleStd } from "../src/statistics/descriptive.js";
import { erfc, wilcoxon } from "../src/statistics/wilcoxon.js";
import reference from "./fixtures/stats-reference.json" with { type: "json" };

// Figures made by scipy/numpy (test/fixtures/make-stats-reference.py), committed with their inputs.
describe(`statistics against scipy ${reference.scipy_version}`, () => {
  for (const c of reference.wilcoxon) {
    it(`Wilcoxon signed-rank: ${c.name}`, () => {
      const r = wilcoxon(c.d);
      expect(r.method).toBe(c.method);
      expect(Math.abs(r.statistic - c.statistic)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(r.pvalue - c.pvalue)).toBeLessThanOrEqual(1e-6 * Math.max(c.pvalue, 1e-300) + 1e-300);
    });
  }

  for (const c of reference.bootstrap) {
    it(`descriptive statistics and the percentile bootstrap CI of the mean: ${c.name}`, () => {
      expect(mean(c.x)).toBeCloseTo(c.mean, 12);
      expect(sampleStd(c.x)).toBeCloseTo(c.std, 12);
      expect(median(c.x)).toBeCloseTo(c.median, 12);
      // Different resampling streams: with 10,000 resamples each 2.5% endpoint has a Monte-Carlo
      // SD of about 0.027 standard errors, so two runs agree within 0.15 SE (a 90% CI is 0.3 SE off).
      const ci = bootstrapMeanCi(c.x);
      const tolerance = 0.15 * c.standard_error;
      expect(Math.abs(ci.low - c.ci_low)).toBeLessThan(tolerance);
      expect(Math.abs(ci.high - c.ci_high)).toBeLessThan(tolerance);
    });
  }

  it("bootstrap intervals are reproducible with the fixed seed and move with another", () => {
    const x = reference.bootstrap[0].x;
    expect(bootstrapMeanCi(x)).toEqual(bootstrapMeanCi(x));
    expect(bootstrapMeanCi(x, { seed: 7 })).not.toEqual(bootstrapMeanCi(x));
  });

  it("erfc keeps relative accuracy in the tails", () => {
    // Values of erfc from the literature (Abramowitz & Stegun; mpmath to 17 digits).
    expect(erfc(0)).toBe(1);
    expect(erfc(0.5)).toBeCloseTo(0.4795001221869535, 15);
    expect(Math.abs(erfc(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(erfc(6) / 2.151973671249891e-17 - 1)).toBeLessThan(1e-12);
    expect(erfc(-1)).toBeCloseTo(1.8427007929497148, 15);
  });
});

describe("bootstrap of many columns at once", () => {
  it("gives each column exactly the interval bootstrapMeanCi gives it, across chunks", () => {
    let state = 7;
    const next = () => ((state = (state * 1103515245 + 12345) >>> 0) / 4294967296) * 10 - 5;
    const columns = Array.from({ length: COLUMNS_AT_ONCE + 3 }, () => Array.from({ length: 9 }, next));
    const together = bootstrapMeanCis(columns, { resamples: 300, seed: 99 });
    expect(together).toHaveLength(columns.length);
    columns.forEach((c, i) => expect(together[i], `column ${i}`).toEqual(bootstrapMeanCi(c, { resamples: 300, seed: 99 })));
    expect(bootstrapMeanCis([[3.5], [1]], { resamples: 10 })).toEqual([{ low: 3.5, high: 3.5 }, { low: 1, high: 1 }]);
    expect(() => bootstrapMeanCis([[1, 2], [1]])).toThrow(/different lengths/);
  });
});
