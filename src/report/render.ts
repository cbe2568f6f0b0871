/** A report's pages: markdown and HTML from REPORT_SECTIONS, CSV, LaTeX and the terminal table. */
import { stringify } from "csv-stringify/sync";
import type { ReportData } from "./analyse.js";
import { f, html } from "./format.js";
import { mainPivot, pivotText, REPORT_SECTIONS, type SectionOptions } from "./sections.js";

export type { EmbeddedThumbnail, RenderOptions } from "./format.js";

function completeness(d: ReportData): string {
  if (d.in_progress) return `IN PROGRESS: the run is being written by ${d.in_progress}; this report covers what is recorded so far (${d.missing.evaluations} evaluations to go).`;
  if (d.complete) return "Complete run.";
  const m = d.missing;
  return `INCOMPLETE run (status ${d.status}): ${m.evaluations} evaluations missing, ${m.trials} trials incomplete, ${m.failedTrials} trials failed; tables use the trials that finished.`;
}

/** What `sweep report` and the end of `sweep run` print: the main table as a pivot. */
export function terminalTable(d: ReportData): string {
  return `${completeness(d)}\n${pivotText(d)}`;
}

export function markdownReport(d: ReportData, opts: SectionOptions = {}): string {
  const sections = REPORT_SECTIONS.flatMap((s) => {
    const body = s.markdown(d, opts);
    return body === null ? [] : [`## ${s.title(d)}`, "", body, ""];
  });
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
    ...sections,
  ].join("\n");
}

/** The long form: one row per (strategy, budget). */
export function csvReport(d: ReportData): string {
  return stringify([["strategy", "budget", "n", "mean", "std", "ci_low", "ci_high", "median"], ...d.tables.map((t) => [t.strategy, t.budget, t.n, t.mean, t.std, t.ci_low, t.ci_high, t.median])]);
}

/** per_prompt.csv: the per-prompt table with whole prompts, in its sorted order. */
export function perPromptCsv(d: ReportData): string {
  const pp = d.per_prompt;
  return stringify([
    ["prompt_index", "prompt", ...pp.strategies.map((s) => `mean_${s}`), ...pp.compared.map((s) => `diff_${s}`)],
    ...pp.rows.map((r) => [r.prompt_index, r.prompt, ...r.means.map((m) => m ?? ""), ...r.diffs.map((x) => x ?? "")]),
  ]);
}

function latexEscape(s: string): string {
  return s.replace(/[\\{}&%$#_^~]/g, (c) => ({ "\\": "\\textbackslash{}", "^": "\\textasciicircum{}", "~": "\\textasciitilde{}" } as Record<string, string>)[c] ?? `\\${c}`);
}

/** The main table as a pivot that compiles as-is in any LaTeX document (no packages needed). */
export function latexReport(d: ReportData): string {
  const pv = mainPivot(d);
  const rows = pv.rows.map((r) => `${latexEscape(r.strategy)} & ${r.cells.map((c) => {
    if (!c) return "-";
    const mean = c.best ? `\\textbf{${f(c.mean)}}` : f(c.mean);
    return `${mean} (${f(c.ci_low)}, ${f(c.ci_high)})${c.significant ? "$^*$" : ""}`;
  }).join(" & ")} \\\\`);
  return [
    "\\begin{table}[ht]",
    "\\centering",
    `\\begin{tabular}{l${"r".repeat(pv.budgets.length)}}`,
    "\\hline",
    `strategy & ${pv.budgets.map((b) => `budget ${b}`).join(" & ")} \\\\`,
    "\\hline",
    ...rows,
    "\\hline",
    "\\end{tabular}",
    `\\caption{${latexEscape(d.name)}: mean best score over (prompt, seed) pairs with 95\\% percentile bootstrap intervals (${d.bootstrap.resamples} resamples); bold: best at its budget; $^*$: differs from ${latexEscape(d.baseline)} (paired Wilcoxon signed-rank, $p < 0.05$).${d.complete ? "" : " Incomplete run."}}`,
    "\\end{table}",
    "",
  ].join("\n");
}

const STYLE = `body{font-family:DejaVu Sans,Liberation Sans,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}
.status{padding:.5em 1em;border-radius:4px;background:#e8f5e9}.status.incomplete{background:#fff3e0;font-weight:bold}
#pivot td{white-space:nowrap}#pivot .ci,#pivot .n,.baseline{color:#666;font-size:.9em}#pivot .sig{color:#b00;font-weight:bold}#pivot td.best{background:#f1f8e9}
.legend{color:#444;font-size:.9em}
.facts th{text-align:left;font-weight:normal;color:#555;border-bottom:1px solid #eee}.facts td{text-align:left;border-bottom:1px solid #eee;word-break:break-all}
#experiment-strategies td,#experiment-strategies th,#experiment-workers td,#experiment-workers th{text-align:left}
#failures{border-left:4px solid #c62828;padding-left:1em}#failed-trials td{text-align:left;vertical-align:top}#failed-trials pre{margin:0;white-space:pre-wrap;font-size:.85em;max-width:40em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}
details summary{cursor:pointer;color:#1565c0}td.prompt{max-width:28em}
.scroll{overflow-x:auto}.gallery td,.gallery th{vertical-align:top;text-align:center}.gallery th:first-child{text-align:left}.gallery td.prompt{text-align:left;max-width:16em}
.gallery img{display:block;margin:0 auto;max-width:144px;height:auto}.gallery .score{font-weight:bold}.gallery .eval,.gallery .noimage{color:#666;font-size:.9em}
.gallery td.top{outline:3px solid #2e7d32;outline-offset:-3px}.gallery .mark{color:#2e7d32;font-weight:bold;font-size:.9em}`;

/** One self-contained page: inline CSS, SVG and thumbnails (data: URIs), no scripts, no network. */
export function htmlReport(d: ReportData, curveSvg: string, opts: SectionOptions = {}): string {
  const o = { ...opts, curveSvg };
  const sections = REPORT_SECTIONS.flatMap((s) => {
    const body = s.html(d, o);
    return body === null ? [] : [`<section id="${s.id}"><h2>${html(s.title(d))}</h2>\n${body}\n</section>`];
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(d.name)}: sweep report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
${STYLE}
</style></head><body>
<h1>${html(d.name)}</h1>
<p>Run ${html(d.run_id)}. Best score per trial over (prompt, seed) pairs; ${d.bootstrap.method} bootstrap intervals over pairs (${d.bootstrap.resamples} resamples, seed ${d.bootstrap.seed}).</p>
<p class="status${d.complete ? "" : " incomplete"}" id="status">${html(completeness(d))}</p>
<p id="evaluator">${html(d.evaluator)}</p>
${d.warnings.map((w) => `<p class="status incomplete warning">${html(w)}</p>`).join("\n")}
${sections.join("\n")}
</body></html>
`;
}
