/**
 * The budget-curve plot: a vega-lite spec rendered by vega to SVG, and by resvg to PNG. The
 * renderers load when a plot is drawn (about 40 MB and a quarter second), not in every worker
 * and coordinator that imports this module.
 */
import type { TopLevelSpec } from "vega-lite";
import type { CurvePoint } from "./analyse.js";

/** The curves of one reward: one panel of the plot. */
export interface CurveSeries {
  /** the panel's title ("score" where the run reports one reward) */
  reward: string;
  points: CurvePoint[];
}

export interface BudgetCurveOptions {
  name: string;
  complete: boolean;
  /** the sweep's budgets, marked on the x axis */
  budgets: readonly number[];
  /** strategies in the sweep's order (the legend's and the colours' order) */
  strategies: readonly string[];
}

// Sizes read in a paper at a column's width: the SVG scales, the PNG is drawn at 2x.
const WIDTH = 460;
const HEIGHT = 300;
const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/** A log x axis once the budgets span two decades: a linear one squeezes the small budgets into the corner. */
function xScale(budgets: readonly number[]): { type: "linear" | "log"; ticks?: number[] } {
  const max = Math.max(...budgets);
  if (max / Math.min(...budgets) < 100) return { type: "linear" };
  const ticks = [];
  for (let t = 1; t <= max; t *= 10) ticks.push(t);
  return { type: "log", ticks: [...new Set([...ticks, ...budgets])].sort((a, b) => a - b) };
}

function panel(series: CurveSeries, opts: BudgetCurveOptions, titled: boolean) {
  const values = series.points.map((p) => ({ strategy: p.strategy, evaluations: p.evaluations, mean: p.mean, low: p.ci_low, high: p.ci_high }));
  const scale = xScale(opts.budgets);
  const maxBudget = Math.max(...opts.budgets);
  // Whole evaluation counts only: the best-so-far is a step function of them, drawn as steps.
  const x = {
    field: "evaluations", type: "quantitative" as const, title: "evaluations spent",
    scale: { type: scale.type, domain: [1, maxBudget], nice: false },
    axis: { format: "d", tickMinStep: 1, ...(scale.ticks ? { values: scale.ticks } : {}) },
  };
  // The legend's symbols are the lines' (full colour), not the bands' (pale).
  const color = {
    field: "strategy", type: "nominal" as const, title: "strategy", scale: { domain: [...opts.strategies] },
    legend: { symbolType: "stroke", symbolStrokeWidth: 3, symbolOpacity: 1, symbolFillOpacity: 1, symbolStrokeColor: null },
  };
  const budgetMarks = { values: opts.budgets.map((b) => ({ budget: b, label: `budget ${b}` })) };
  const budgetX = { field: "budget", type: "quantitative" as const, scale: { type: scale.type, domain: [1, maxBudget], nice: false } };
  return {
    ...(titled ? { title: series.reward } : {}),
    width: WIDTH,
    height: HEIGHT,
    layer: [
      { data: budgetMarks, mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { x: budgetX } },
      { data: budgetMarks, mark: { type: "text", color: "#555", align: "right", baseline: "top", dx: -3, dy: 3, fontSize: 12 }, encoding: { x: budgetX, y: { value: 0 }, text: { field: "label" } } },
      { data: { values }, mark: { type: "area", opacity: 0.2, interpolate: "step-after" }, encoding: { x, y: { field: "low", type: "quantitative", title: "mean best score", scale: { zero: false } }, y2: { field: "high" }, color } },
      { data: { values }, mark: { type: "line", strokeWidth: 2.5, interpolate: "step-after" }, encoding: { x, y: { field: "mean", type: "quantitative", title: "mean best score", scale: { zero: false } }, color } },
    ],
  };
}

/** One panel per reward (a list of series, so held-out rewards join as panels beside the main one). */
export function budgetCurveSpec(series: CurveSeries[], opts: BudgetCurveOptions): TopLevelSpec {
  const panels = series.map((s) => panel(s, opts, series.length > 1));
  const head = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: `${opts.name}: best score vs evaluations spent`, subtitle: `mean best-so-far over (prompt, seed), 95% bootstrap band; dashed: the sweep's budgets${opts.complete ? "" : " (incomplete run)"}` },
    background: "white",
    config: {
      font: FONT,
      title: { fontSize: 17, subtitleFontSize: 13 },
      axis: { labelFontSize: 13, titleFontSize: 14 },
      legend: { labelFontSize: 13, titleFontSize: 14 },
    },
  };
  if (panels.length === 1) return { ...head, ...panels[0] } as TopLevelSpec;
  return { ...head, hconcat: panels, resolve: { scale: { color: "shared", y: "independent" } } } as TopLevelSpec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import("@resvg/resvg-js");
  return new Resvg(svg, { fitTo: { mode: "zoom", value: 2 }, background: "white", font: { loadSystemFonts: true } }).render().asPng();
}
