/**
 * The report's held-out section, from heldout.csv: per strategy and budget the optimised reward and
 * each held-out reward (mean and 95% CI over (prompt, seed)), each strategy against the baseline on
 * each reward (paired by (prompt, seed), Wilcoxon, as the main tables), and one plot of the gain
 * over the baseline on the optimised reward beside the gain on each held-out reward. Pure numbers
 * and text; the report's section of that name (sections.ts) shows them.
 */
import type { TopLevelSpec } from "vega-lite";
import { bootstrapMeanCi } from "../statistics/bootstrap.js";
import { mean } from "../statistics/descriptive.js";
import { wilcoxon } from "../statistics/wilcoxon.js";
import { f, html, htmlTable, mdTable, p } from "./format.js";
import { BASE_STRATEGY, type HeldoutRow } from "../results/heldout-csv.js";

export interface HeldoutTableRow { reward: string; strategy: string; budget: number; n: number; mean: number; ci_low: number; ci_high: number }
export interface HeldoutComparison {
  reward: string; strategy: string; baseline: string; budget: number; n: number; mean_diff: number; ci_low: number; ci_high: number;
  wins: number; ties: number; losses: number; wilcoxon_statistic: number; wilcoxon_p: number;
}

export interface HeldoutReport {
  /** the optimised reward's label first, then the held-out rewards */
  rewards: string[];
  optimised: string;
  baseline: string;
  table: HeldoutTableRow[];
  comparisons: HeldoutComparison[];
}

/**
 * `optimised`: how the optimised reward is labelled (its model name). `baseline`: a strategy label,
 * or `base` (the base noise of each (prompt, seed)).
 */
export function heldoutReport(rows: HeldoutRow[], strategies: string[], budgets: number[], optimised: string, baseline: string, opts: { resamples: number; seed: number }): HeldoutReport {
  const heldout = [...new Set(rows.map((r) => r.reward))];
  const rewards = [optimised, ...heldout];
  // the optimised score is repeated on every held-out reward's row: read it off the first reward's
  const scoreRows = [
    ...rows.filter((r) => r.reward === heldout[0]).map((r) => ({ ...r, reward: optimised, score: r.optimised_score })),
    ...rows,
  ];
  const pair = (r: HeldoutRow) => `${r.prompt_index}/${r.seed}`;
  const table: HeldoutTableRow[] = [];
  const comparisons: HeldoutComparison[] = [];
  for (const reward of rewards) {
    const of = scoreRows.filter((r) => r.reward === reward);
    const cells = [{ strategy: BASE_STRATEGY, budget: 1 }, ...strategies.flatMap((strategy) => budgets.map((budget) => ({ strategy, budget })))];
    for (const { strategy, budget } of cells) {
      const xs = of.filter((r) => r.strategy === strategy && r.budget === budget).map((r) => r.score);
      if (xs.length === 0) continue;
      const ci = bootstrapMeanCi(xs, opts);
      table.push({ reward, strategy, budget, n: xs.length, mean: mean(xs), ci_low: ci.low, ci_high: ci.high });
    }
    for (const strategy of strategies) {
      if (strategy === baseline) continue;
      for (const budget of budgets) {
        const base = new Map(of.filter((r) => r.strategy === baseline && (baseline === BASE_STRATEGY || r.budget === budget)).map((r) => [pair(r), r.score]));
        const diffs = of.filter((r) => r.strategy === strategy && r.budget === budget && base.has(pair(r))).map((r) => r.score - (base.get(pair(r)) as number));
        if (diffs.length === 0) continue;
        const ci = bootstrapMeanCi(diffs, opts);
        const w = wilcoxon(diffs);
        comparisons.push({
          reward, strategy, baseline, budget, n: diffs.length, mean_diff: mean(diffs), ci_low: ci.low, ci_high: ci.high,
          wins: diffs.filter((d) => d > 0).length, ties: diffs.filter((d) => d === 0).length, losses: diffs.filter((d) => d < 0).length,
          wilcoxon_statistic: w.statistic, wilcoxon_p: w.pvalue,
        });
      }
    }
  }
  return { rewards, optimised, baseline, table, comparisons };
}

const label = (h: HeldoutReport, reward: string) => (reward === h.optimised ? `${reward} (optimised)` : reward);

const TABLE_HEADER = ["reward", "strategy", "budget", "n", "mean", "95% CI"];
const COMPARISON_HEADER = ["reward", "strategy", "budget", "n pairs", "mean diff", "95% CI", "wins/ties/losses", "W", "p (Wilcoxon)"];
const tableRows = (h: HeldoutReport) => h.table.map((t) => [label(h, t.reward), t.strategy, String(t.budget), String(t.n), f(t.mean), `[${f(t.ci_low)}, ${f(t.ci_high)}]`]);
const comparisonRows = (h: HeldoutReport) => h.comparisons.map((c) => [
  label(h, c.reward), c.strategy, String(c.budget), String(c.n), f(c.mean_diff), `[${f(c.ci_low)}, ${f(c.ci_high)}]`, `${c.wins}/${c.ties}/${c.losses}`, f(c.wilcoxon_statistic, 1), p(c.wilcoxon_p),
]);

const INTRO = (h: HeldoutReport) =>
  `Each trial's best candidate and each (prompt, seed)'s base noise (strategy \`${BASE_STRATEGY}\`), rendered once and scored by rewards the searches did not climb (heldout.csv). ` +
  `A gain on ${h.optimised} that vanishes on the held-out rewards is that reward's quirk, not a better image.`;

const comparisonTitle = (h: HeldoutReport) => `Against the baseline (${h.baseline}) on each reward, paired by (prompt, seed)`;

/** The section's markdown body (its heading is the report's). */
export function heldoutMarkdown(h: HeldoutReport): string {
  return [
    INTRO(h),
    "",
    mdTable(TABLE_HEADER, tableRows(h)),
    "",
    `### ${comparisonTitle(h)}`,
    "",
    mdTable(COMPARISON_HEADER, comparisonRows(h)),
    "",
    "![gain on the optimised and the held-out rewards](heldout_gain.svg)",
  ].join("\n");
}

/** The section's HTML body, the gain plot inlined (its heading is the report's). */
export function heldoutHtml(h: HeldoutReport, svg: string): string {
  return [
    `<p>${html(INTRO(h))}</p>`,
    `<div class="scroll">${htmlTable("heldout-table", TABLE_HEADER, tableRows(h))}</div>`,
    `<h3>${html(comparisonTitle(h))}</h3>`,
    `<div class="scroll">${htmlTable("heldout-comparisons", COMPARISON_HEADER, comparisonRows(h))}</div>`,
    `<figure id="heldout-gain">${svg.replace(/^<\?xml[^>]*>/, "")}</figure>`,
  ].join("\n");
}

/** Gain over the baseline per budget, one panel per strategy, one line per reward (the optimised one first). */
export function heldoutGainSpec(h: HeldoutReport, name: string): TopLevelSpec {
  const values = h.comparisons.map((c) => ({ reward: label(h, c.reward), strategy: c.strategy, budget: c.budget, gain: c.mean_diff, low: c.ci_low, high: c.ci_high }));
  const color = { field: "reward", type: "nominal" as const, title: "reward", sort: h.rewards.map((r) => label(h, r)), legend: { labelLimit: 320 } };
  const x = { field: "budget", type: "quantitative" as const, title: "budget (evaluations)", scale: { zero: false } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: `${name}: gain over ${h.baseline}, optimised vs held-out rewards`, subtitle: "mean paired difference over (prompt, seed), 95% bootstrap interval" },
    background: "white",
    data: { values },
    facet: { column: { field: "strategy", type: "nominal", title: "strategy" } },
    spec: {
      width: 260,
      height: 220,
      layer: [
        { mark: { type: "rule", strokeDash: [4, 3], color: "#999" }, encoding: { y: { datum: 0 } } },
        { mark: { type: "errorbar" }, encoding: { x, y: { field: "low", type: "quantitative", title: "gain" }, y2: { field: "high" }, color } },
        { mark: { type: "line", point: true }, encoding: { x, y: { field: "gain", type: "quantitative", title: "gain" }, color } },
      ],
    },
    config: { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif" },
  } as TopLevelSpec;
}
