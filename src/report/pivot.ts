/**
 * The main table as a pivot: strategies as rows, budgets as columns, mean with its 95% interval in
 * each cell, the best mean of each budget flagged, and a flag where the paired difference to the
 * baseline is significant (the comparison's Wilcoxon p-value below SIGNIFICANCE). Pure.
 */
import type { Comparison, TableRow } from "./analyse.js";

export const SIGNIFICANCE = 0.05;

export interface PivotCell {
  n: number;
  mean: number;
  ci_low: number;
  ci_high: number;
  /** the highest mean at this budget (ties: each) */
  best: boolean;
  /** the Wilcoxon p-value against the baseline; null for the baseline itself or without pairs */
  p: number | null;
  significant: boolean;
}

export interface Pivot {
  baseline: string;
  budgets: number[];
  /** one per strategy, in the sweep's order; a cell is null where no trial succeeded */
  rows: { strategy: string; cells: (PivotCell | null)[] }[];
}

export function pivot(tables: TableRow[], comparisons: Comparison[], strategies: string[], budgets: readonly number[], baseline: string): Pivot {
  const key = (strategy: string, budget: number) => `${strategy}\u0000${budget}`;
  const table = new Map(tables.map((t) => [key(t.strategy, t.budget), t]));
  const compared = new Map(comparisons.map((c) => [key(c.strategy, c.budget), c]));
  const top = budgets.map((b) => Math.max(...strategies.map((s) => table.get(key(s, b))?.mean ?? -Infinity)));
  return {
    baseline,
    budgets: [...budgets],
    rows: strategies.map((strategy) => ({
      strategy,
      cells: budgets.map((budget, j) => {
        const t = table.get(key(strategy, budget));
        if (!t) return null;
        const p = compared.get(key(strategy, budget))?.wilcoxon_p ?? null;
        return { n: t.n, mean: t.mean, ci_low: t.ci_low, ci_high: t.ci_high, best: t.mean === top[j], p, significant: p !== null && p < SIGNIFICANCE };
      }),
    })),
  };
}
