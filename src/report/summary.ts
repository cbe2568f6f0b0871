/** The end-of-run summary: mean best score per strategy per budget over (prompt, seed) pairs. */
import type { TrialRow } from "../results/trials.js";
import { textTable } from "./text-table.js";

export interface SummaryCell {
  strategy: string;
  budget: number;
  n: number;
  mean: number | null;
}

export function summarise(trials: TrialRow[]): SummaryCell[] {
  const sums = new Map<string, { cell: SummaryCell; sum: number }>();
  for (const t of trials) {
    const key = `${t.strategy}\u0000${t.budget}`;
    const entry = sums.get(key) ?? { cell: { strategy: t.strategy, budget: t.budget, n: 0, mean: null }, sum: 0 };
    if (t.status === "ok" && t.best_score !== null) {
      entry.cell.n++;
      entry.sum += t.best_score;
      entry.cell.mean = entry.sum / entry.cell.n;
    }
    sums.set(key, entry);
  }
  return [...sums.values()].map((e) => e.cell);
}

export function summaryTable(cells: SummaryCell[]): string {
  const strategies = [...new Set(cells.map((c) => c.strategy))];
  const budgets = [...new Set(cells.map((c) => c.budget))].sort((a, b) => a - b);
  const rows = strategies.map((s) => [s, ...budgets.map((b) => {
    const c = cells.find((x) => x.strategy === s && x.budget === b);
    return c && c.mean !== null ? `${c.mean.toFixed(4)} (n=${c.n})` : "-";
  })]);
  return `Mean best score (over prompt x seed)\n${textTable(["strategy", ...budgets.map((b) => `budget ${b}`)], rows)}`;
}
