/** Number and text formatting shared by the report's renderers (markdown, HTML, terminal, LaTeX). */
import type { Pivot, PivotCell } from "./pivot.js";

/** An embedded thumbnail of a gallery image, or why there is none. */
export type EmbeddedThumbnail = { uri: string; width: number; height: number } | { error: string };

export interface RenderOptions {
  /** the run folder relative to the report's folder, `/`-separated ("" when the same) */
  runLink?: string;
  /** by image path (relative to the run folder) */
  thumbnails?: Map<string, EmbeddedThumbnail>;
  /** the budget curves as SVG, inlined in the HTML */
  curveSvg?: string;
}

export const f = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits));
export const p = (x: number) => (Number.isNaN(x) ? "-" : x < 1e-4 ? x.toExponential(2) : x.toFixed(4));
export const signed = (x: number | null) => (x === null ? "-" : `${x >= 0 ? "+" : ""}${x.toFixed(4)}`);

export const html = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" } as Record<string, string>)[c]);

export function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [`| ${header.map(esc).join(" | ")} |`, `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

export function htmlTable(id: string, header: string[], rows: string[][]): string {
  return `<table id="${id}"><thead><tr>${header.map((h) => `<th>${html(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

/** A link from the report's folder to a file of the run (a path relative to the run folder). */
export function runHref(runLink: string | undefined, file: string): string {
  return [...(runLink ? runLink.split("/") : []), ...file.split("/")].map((seg) => (seg === ".." ? seg : encodeURIComponent(seg))).join("/");
}

/** The pivot's markers in plain text: `^` best at its budget, `*` significant against the baseline. */
export const BEST_MARK = "^";
export const SIG_MARK = "*";

export const cellText = (c: PivotCell) => `${f(c.mean)} (${f(c.ci_low)}, ${f(c.ci_high)})`;

/** Cell counts: one n for the table where every cell has the same, else null (each cell says its own). */
export function uniformN(pv: Pivot): number | null {
  const ns = new Set(pv.rows.flatMap((r) => r.cells.filter((c) => c !== null).map((c) => c!.n)));
  return ns.size === 1 ? [...ns][0] : null;
}

export function pivotLegend(pv: Pivot, marks: { best: string; sig: string }): string {
  const n = uniformN(pv);
  return `Mean best score with its 95% bootstrap interval${n !== null ? `, over ${n} (prompt, seed) pairs per cell` : ", n pairs per cell"}; ${marks.best}: best at its budget; ${marks.sig}: differs from ${pv.baseline} (paired Wilcoxon signed-rank, p < 0.05).`;
}
