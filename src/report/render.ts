/** A report's numbers as markdown, CSV, LaTeX, HTML and a terminal table. */
import { stringify } from "csv-stringify/sync";
import type { Comparison, ReportData, TableRow } from "./analyse.js";
import type { Gallery, GalleryBest, GalleryImage } from "./gallery.js";
import { textTable } from "./text-table.js";

const f = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits));
const p = (x: number) => (Number.isNaN(x) ? "-" : x < 1e-4 ? x.toExponential(2) : x.toFixed(4));

function completeness(d: ReportData): string {
  if (d.in_progress) return `IN PROGRESS: the run is being written by ${d.in_progress}; this report covers what is recorded so far (${d.missing.evaluations} evaluations to go).`;
  if (d.complete) return "Complete run.";
  const m = d.missing;
  return `INCOMPLETE run (status ${d.status}): ${m.evaluations} evaluations missing, ${m.trials} trials incomplete, ${m.failedTrials} trials failed; tables use the trials that finished.`;
}

export function terminalTable(d: ReportData): string {
  const rows = d.tables.map((t) => [t.strategy, String(t.budget), String(t.n), f(t.mean), `[${f(t.ci_low)}, ${f(t.ci_high)}]`, f(t.std), f(t.median)]);
  return `${completeness(d)}\n${textTable(["strategy", "budget", "n", "mean", "95% CI", "std", "median"], rows)}`;
}

function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [`| ${header.map(esc).join(" | ")} |`, `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

const tableRows = (ts: TableRow[]) => ts.map((t) => [t.strategy, String(t.budget), String(t.n), f(t.mean), f(t.std), `[${f(t.ci_low)}, ${f(t.ci_high)}]`, f(t.median)]);
const TABLE_HEADER = ["strategy", "budget", "n", "mean", "std", "95% CI", "median"];
const comparisonRows = (cs: Comparison[]) => cs.map((c) => [c.strategy, String(c.budget), String(c.n), f(c.mean_diff), `[${f(c.ci_low)}, ${f(c.ci_high)}]`, `${c.wins}/${c.ties}/${c.losses}`, f(c.wilcoxon_statistic, 1), p(c.wilcoxon_p)]);
const COMPARISON_HEADER = ["strategy", "budget", "n pairs", "mean diff", "95% CI", "wins/ties/losses", "W", "p (Wilcoxon)"];

const BEST_NOISES = "The best noise of every trial can be rebuilt from this folder and rendered with the reference pipeline: `sweep noise --run <this run folder> --best --out-dir best_noises`.";

/** An embedded thumbnail of a gallery image, or why there is none. */
export type EmbeddedThumbnail = { uri: string; width: number; height: number } | { error: string };

export interface RenderOptions {
  /** the run folder relative to the report's folder, `/`-separated ("" when the same) */
  runLink?: string;
  /** by image path (relative to the run folder) */
  thumbnails?: Map<string, EmbeddedThumbnail>;
}

/** A link from the report's folder to a file of the run (a path relative to the run folder). */
function runHref(runLink: string | undefined, file: string): string {
  return [...(runLink ? runLink.split("/") : []), ...file.split("/")].map((seg) => (seg === ".." ? seg : encodeURIComponent(seg))).join("/");
}

function markdownBestImages(g: Gallery, runLink: string | undefined): string[] {
  if (!g.index) return [];
  const index = runHref(runLink, g.index);
  return [
    "## Best images",
    "",
    `The best candidate of every trial, its noise (\`.npy\`) and its image (\`.png\`, where the evaluator makes one), is in \`best/\`, one row per trial in [${g.index}](${index}).`,
    g.images > 0
      ? `report.html shows ${g.images} of the images: per prompt and seed, the base noise (evaluation 0 of the ${g.base_strategy ?? "random"} search) beside each strategy's best at budget ${g.budget}, with scores.`
      : "This run's evaluator makes no images.",
    "",
  ];
}

export function markdownReport(d: ReportData, opts: RenderOptions = {}): string {
  const match = d.evaluations_to_match.map((m) => [m.strategy, f(m.target), m.evaluations === null ? "not reached" : String(m.evaluations), m.compute_ratio === null ? "-" : `${m.compute_ratio.toFixed(2)}x`]);
  return [
    `# ${d.name}: report of run ${d.run_id}`,
    "",
    completeness(d),
    "",
    d.evaluator,
    "",
    ...d.warnings.flatMap((w) => [`**Warning:** ${w}`, ""]),
    `Best score per trial, over (prompt, seed) pairs. Intervals: ${d.bootstrap.method} bootstrap over pairs, ${d.bootstrap.resamples} resamples, seed ${d.bootstrap.seed}.`,
    "",
    "## Strategy x budget",
    "",
    mdTable(TABLE_HEADER, tableRows(d.tables)),
    "",
    `## Against the baseline (${d.baseline}), paired by (prompt, seed)`,
    "",
    d.comparisons.length > 0 ? mdTable(COMPARISON_HEADER, comparisonRows(d.comparisons)) : d.no_comparison ?? "",
    "",
    "Wilcoxon signed-rank, two-sided, zero differences dropped, no continuity correction (as scipy.stats.wilcoxon).",
    "",
    `## Evaluations to match ${d.baseline} at its largest budget`,
    "",
    mdTable(["strategy", "target (mean best)", "evaluations needed", "compute ratio"], match),
    "",
    "## Budget curves",
    "",
    "![budget curves](budget_curve.svg)",
    "",
    "## Per prompt",
    "",
    mdTable(["prompt", ...TABLE_HEADER], d.prompt_tables.map((t, i) => [`${t.prompt_index}: ${t.prompt}`, ...tableRows([d.prompt_tables[i]])[0]])),
    "",
    ...markdownBestImages(d.gallery, opts.runLink),
    "## Best noises",
    "",
    BEST_NOISES,
    "",
  ].join("\n");
}

export function csvReport(d: ReportData): string {
  return stringify([["strategy", "budget", "n", "mean", "std", "ci_low", "ci_high", "median"], ...d.tables.map((t) => [t.strategy, t.budget, t.n, t.mean, t.std, t.ci_low, t.ci_high, t.median])]);
}

function latexEscape(s: string): string {
  return s.replace(/[\\{}&%$#_^~]/g, (c) => ({ "\\": "\\textbackslash{}", "^": "\\textasciicircum{}", "~": "\\textasciitilde{}" } as Record<string, string>)[c] ?? `\\${c}`);
}

/** A table that compiles as-is in any LaTeX document (no packages needed). */
export function latexReport(d: ReportData): string {
  const rows = d.tables.map((t) => `${latexEscape(t.strategy)} & ${t.budget} & ${t.n} & ${f(t.mean)} & [${f(t.ci_low)}, ${f(t.ci_high)}] & ${f(t.median)} \\\\`);
  return [
    "\\begin{table}[ht]",
    "\\centering",
    "\\begin{tabular}{lrrrcr}",
    "\\hline",
    "strategy & budget & $n$ & mean & 95\\% CI & median \\\\",
    "\\hline",
    ...rows,
    "\\hline",
    "\\end{tabular}",
    `\\caption{${latexEscape(d.name)}: mean best score over (prompt, seed) pairs; percentile bootstrap intervals (${d.bootstrap.resamples} resamples).${d.complete ? "" : " Incomplete run."}}`,
    "\\end{table}",
    "",
  ].join("\n");
}

const html = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" } as Record<string, string>)[c]);

function htmlTable(id: string, header: string[], rows: string[][]): string {
  return `<table id="${id}"><thead><tr>${header.map((h) => `<th>${html(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

function galleryCell(cls: string, what: string, image: string | null, score: number | null, extra: string, opts: RenderOptions): string {
  let picture: string;
  if (image === null) {
    picture = `<div class="noimage">no image</div>`;
  } else {
    const href = html(runHref(opts.runLink, image));
    const thumb = opts.thumbnails?.get(image);
    picture = thumb && "uri" in thumb
      ? `<a href="${href}"><img src="${thumb.uri}" width="${thumb.width}" height="${thumb.height}" alt="${html(what)}"></a>`
      : `<div class="noimage"><a href="${href}">${html(image)}</a>${thumb ? `<br>unreadable: ${html(thumb.error)}` : ""}</div>`;
  }
  return `<td class="${cls}">${picture}<div class="score">score ${f(score)}</div>${extra}</td>`;
}

function htmlGallery(g: Gallery, opts: RenderOptions): string {
  const indexLink = g.index ? ` The files are listed in <a href="${html(runHref(opts.runLink, g.index))}">${html(g.index)}</a>.` : "";
  if (g.rows.length === 0) {
    return `<p id="gallery">This run's evaluator produces scores only, no images. ${html(BEST_NOISES).replace(/`([^`]+)`/, "<code>$1</code>")}${indexLink}</p>`;
  }
  const strategies = g.rows[0].strategies.map((s) => s.strategy);
  const withBase = g.base_strategy !== null;
  const header = ["prompt", "seed", ...(withBase ? [`base noise (${g.base_strategy} eval 0)`] : []), ...strategies.map((s) => `${s} best`)];
  const base = (r: Gallery["rows"][number], b: GalleryImage | null) =>
    galleryCell("base", `base noise, prompt ${r.prompt_index}, seed ${r.seed}`, b?.image ?? null, b?.score ?? null, `<div class="eval">eval 0</div>`, opts);
  const best = (r: Gallery["rows"][number], s: GalleryBest) =>
    galleryCell("best", `${s.strategy} best, prompt ${r.prompt_index}, seed ${r.seed}`, s.image, s.score,
      `<div class="eval">eval ${s.eval_index ?? "-"}${s.trial_status === "ok" ? "" : ` (${html(s.trial_status)})`}</div>`, opts);
  const rows = g.rows.map((r) => `<tr data-prompt-index="${r.prompt_index}" data-seed="${r.seed}"><td class="prompt">${html(`${r.prompt_index}: ${r.prompt}`)}</td><td class="seed">${r.seed}</td>${withBase ? base(r, r.base) : ""}${r.strategies.map((s) => best(r, s)).join("")}</tr>`);
  return `<div id="gallery">
<p>Per prompt and seed: ${withBase ? `the base noise's image (evaluation 0 of the ${html(g.base_strategy!)} search) beside ` : ""}each strategy's best image at budget ${g.budget}, with its score and evaluation index. Thumbnails; each links to its full-size image.${indexLink}</p>
<div class="scroll"><table class="gallery"><thead><tr>${header.map((h) => `<th>${html(h)}</th>`).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table></div>
</div>`;
}

/** One self-contained page: inline CSS, SVG and thumbnails (data: URIs), no scripts, no network. */
export function htmlReport(d: ReportData, curveSvg: string, opts: RenderOptions = {}): string {
  const match = d.evaluations_to_match.map((m) => [m.strategy, f(m.target), m.evaluations === null ? "not reached" : String(m.evaluations), m.compute_ratio === null ? "-" : `${m.compute_ratio.toFixed(2)}x`]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(d.name)}: sweep report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:DejaVu Sans,Liberation Sans,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}
.status{padding:.5em 1em;border-radius:4px;background:#e8f5e9}.status.incomplete{background:#fff3e0;font-weight:bold}
figure{margin:1em 0}
.scroll{overflow-x:auto}.gallery td,.gallery th{vertical-align:top;text-align:center}.gallery th:first-child{text-align:left}.gallery td.prompt{text-align:left;max-width:16em}
.gallery img{display:block;margin:0 auto}.gallery .score{font-weight:bold}.gallery .eval,.gallery .noimage{color:#666;font-size:.9em}
</style></head><body>
<h1>${html(d.name)}</h1>
<p>Run ${html(d.run_id)}. Best score per trial over (prompt, seed) pairs; ${d.bootstrap.method} bootstrap intervals over pairs (${d.bootstrap.resamples} resamples, seed ${d.bootstrap.seed}).</p>
<p class="status${d.complete ? "" : " incomplete"}" id="status">${html(completeness(d))}</p>
<p id="evaluator">${html(d.evaluator)}</p>
${d.warnings.map((w) => `<p class="status incomplete warning">${html(w)}</p>`).join("\n")}
<h2>Strategy x budget</h2>
${htmlTable("tables", TABLE_HEADER, tableRows(d.tables))}
<h2>Against the baseline (${html(d.baseline)}), paired by (prompt, seed)</h2>
${d.comparisons.length > 0 ? htmlTable("comparisons", COMPARISON_HEADER, comparisonRows(d.comparisons)) : `<p id="comparisons">${html(d.no_comparison ?? "")}</p>`}
<h2>Evaluations to match ${html(d.baseline)} at its largest budget</h2>
${htmlTable("match", ["strategy", "target (mean best)", "evaluations needed", "compute ratio"], match)}
<h2>Budget curves</h2>
<figure id="budget-curve">${curveSvg.replace(/^<\?xml[^>]*>/, "")}</figure>
<h2>Per prompt</h2>
${htmlTable("per-prompt", ["prompt", ...TABLE_HEADER], d.prompt_tables.map((t) => [`${t.prompt_index}: ${t.prompt}`, ...tableRows([t])[0]]))}
<h2>Best images</h2>
${htmlGallery(d.gallery, opts)}
</body></html>
`;
}
