/**
 * The budget-curve plot: a vega-lite spec rendered by vega to SVG, and by resvg to PNG. The
 * renderers load when a plot is drawn (about 40 MB and a quarter second), not in every worker
 * and coordinator that imports this module.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ReportData } from "./analyse.js";

export function budgetCurveSpec(data: ReportData): TopLevelSpec {
  const values = data.curves.map((p) => ({ strategy: p.strategy, evaluations: p.evaluations, mean: p.mean, low: p.ci_low, high: p.ci_high }));
  const color = { field: "strategy", type: "nominal" as const, title: "strategy" };
  const x = { field: "evaluations", type: "quantitative" as const, title: "evaluations spent", scale: { domainMin: 1 } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: `${data.name}: best score vs evaluations spent`, subtitle: `mean best-so-far over (prompt, seed) with 95% bootstrap band${data.complete ? "" : " (incomplete run)"}` },
    width: 560,
    height: 340,
    background: "white",
    data: { values },
    layer: [
      { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "low", type: "quantitative", title: "mean best score" }, y2: { field: "high" }, color } },
      { mark: { type: "line", strokeWidth: 2 }, encoding: { x, y: { field: "mean", type: "quantitative", title: "mean best score", scale: { zero: false } }, color } },
    ],
    config: { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif" },
  };
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
