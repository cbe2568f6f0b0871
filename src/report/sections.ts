/**
 * The sections of a report, in order, each rendering itself as markdown and as HTML (or nothing,
 * where it has nothing to say). A new section is one entry of REPORT_SECTIONS.
 */
import type { ReportData } from "./analyse.js";
import { durationText, optionsLine, optionValue } from "./experiment.js";
import { BEST_MARK, cellText, f, html, htmlTable, mdTable, p, pivotLegend, signed, SIG_MARK, uniformN, type RenderOptions } from "./format.js";
import { htmlGallery, markdownBestImages } from "./gallery-html.js";
import { heldoutHtml, heldoutMarkdown, type HeldoutReport } from "./heldout.js";
import { shortPrompt } from "./per-prompt.js";
import { pivot, type Pivot } from "./pivot.js";
import { textTable } from "./text-table.js";

/** What the sections render besides the run's numbers. */
export interface SectionOptions extends RenderOptions {
  /** the held-out rewards' numbers and gain plot (SVG), when the run has heldout.csv */
  heldout?: { report: HeldoutReport; svg: string };
}

export interface ReportSection {
  /** the HTML element id of the section */
  id: string;
  title: (d: ReportData) => string;
  /** the body, or null to leave the section out */
  markdown: (d: ReportData, opts: SectionOptions) => string | null;
  html: (d: ReportData, opts: SectionOptions) => string | null;
}

/** Above this many prompts the per-prompt table starts collapsed in the HTML. */
export const PER_PROMPT_OPEN = 50;
/** Failed searches listed in the HTML and markdown (all are in trials.csv). */
export const FAILED_LISTED = 100;

export const mainPivot = (d: ReportData): Pivot => pivot(d.tables, d.comparisons, d.strategies, d.budgets, d.baseline);

// --- result: the pivot -------------------------------------------------------------------------

function markdownPivot(d: ReportData): string {
  const pv = mainPivot(d);
  const n = uniformN(pv);
  const rows = pv.rows.map((r) => [r.strategy, ...r.cells.map((c) => {
    if (!c) return "-";
    const mean = c.best ? `**${f(c.mean)}**` : f(c.mean);
    return `${mean} (${f(c.ci_low)}, ${f(c.ci_high)})${c.significant ? SIG_MARK : ""}${n === null ? ` n=${c.n}` : ""}`;
  })]);
  return `${mdTable(["strategy", ...pv.budgets.map((b) => `budget ${b}`)], rows)}\n\n${pivotLegend(pv, { best: "bold", sig: SIG_MARK })}`;
}

function htmlPivot(d: ReportData): string {
  const pv = mainPivot(d);
  const n = uniformN(pv);
  const head = `<tr><th>strategy</th>${pv.budgets.map((b) => `<th>budget ${b}</th>`).join("")}</tr>`;
  const rows = pv.rows.map((r) => `<tr data-strategy="${html(r.strategy)}"><td>${html(r.strategy)}${r.strategy === pv.baseline ? ' <span class="baseline">(baseline)</span>' : ""}</td>${r.cells.map((c, j) => {
    if (!c) return `<td data-budget="${pv.budgets[j]}">-</td>`;
    const mean = c.best ? `<strong>${f(c.mean)}</strong>` : f(c.mean);
    const title = c.p === null ? "" : ` title="Wilcoxon p = ${p(c.p)} against ${html(pv.baseline)}"`;
    return `<td data-budget="${pv.budgets[j]}" class="${[c.best ? "best" : "", c.significant ? "significant" : ""].join(" ").trim()}"${title}>${mean} <span class="ci">(${f(c.ci_low)}, ${f(c.ci_high)})</span>${c.significant ? `<sup class="sig">${SIG_MARK}</sup>` : ""}${n === null ? ` <span class="n">n=${c.n}</span>` : ""}</td>`;
  }).join("")}</tr>`);
  return `<table id="pivot"><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>\n<p class="legend">${html(pivotLegend(pv, { best: "bold", sig: SIG_MARK }))} The long form (n, std, median per cell) is in report.json and report.csv (sweep report --format json or csv).</p>`;
}

/** The pivot as a terminal table (end of `sweep run`, `sweep report`). */
export function pivotText(d: ReportData): string {
  const pv = mainPivot(d);
  const n = uniformN(pv);
  const rows = pv.rows.map((r) => [r.strategy, ...r.cells.map((c) => (c ? `${cellText(c)}${n === null ? ` n=${c.n}` : ""}${c.best ? BEST_MARK : " "}${c.significant ? SIG_MARK : " "}` : "-"))]);
  return `${textTable(["strategy", ...pv.budgets.map((b) => `budget ${b}`)], rows)}\n${pivotLegend(pv, { best: BEST_MARK, sig: SIG_MARK })}`;
}

// --- comparisons, evaluations to match ----------------------------------------------------------

const COMPARISON_HEADER = ["strategy", "budget", "n pairs", "mean diff", "95% CI", "wins/ties/losses", "W", "p (Wilcoxon)"];
const comparisonRows = (d: ReportData) => d.comparisons.map((c) => [c.strategy, String(c.budget), String(c.n), f(c.mean_diff), `[${f(c.ci_low)}, ${f(c.ci_high)}]`, `${c.wins}/${c.ties}/${c.losses}`, f(c.wilcoxon_statistic, 1), p(c.wilcoxon_p)]);
const WILCOXON = "Wilcoxon signed-rank, two-sided, zero differences dropped, no continuity correction (as scipy.stats.wilcoxon).";

const MATCH_HEADER = ["strategy", "target (mean best)", "evaluations needed", "compute ratio"];
const matchRows = (d: ReportData) => d.evaluations_to_match.map((m) => [m.strategy, f(m.target), m.evaluations === null ? "not reached" : String(m.evaluations), m.compute_ratio === null ? "-" : `${m.compute_ratio.toFixed(2)}x`]);

// --- the experiment ----------------------------------------------------------------------------

/** Seeds as a range where they are consecutive ("0-999, 1,000 seeds"), else listed. */
function seedsText(seeds: number[]): string {
  const consecutive = seeds.length > 2 && seeds.every((s, i) => i === 0 || s === seeds[i - 1] + 1);
  return consecutive ? `${seeds[0]}-${seeds[seeds.length - 1]} (${seeds.length} seeds)` : seeds.join(", ");
}

function experimentFacts(d: ReportData): [string, string][] {
  const e = d.experiment;
  const { kind, ...settings } = e.evaluator;
  return [
    ["date", `${e.started_at}${e.finished_at ? ` to ${e.finished_at}` : ""}`],
    ["duration", durationText(e.duration_s)],
    ["tool", `sweep ${e.tool_version}`],
    ["sweep file", `${e.sweep_file}${e.overrides.length > 0 ? ` with ${e.overrides.map((o) => `--set ${o}`).join(" ")}` : ""}`],
    ["fingerprint", e.fingerprint],
    ...(e.description ? [["description", e.description] as [string, string]] : []),
    ["prompts", String(e.prompts)],
    ["seeds", seedsText(e.seeds)],
    ["budgets", e.budgets.join(", ")],
    ["evaluator", d.evaluator.replace(/^Evaluator: /, "")],
    ["evaluator settings", `${String(kind)}: ${optionsLine(settings)}; ${optionsLine(e.execution)}`],
    ["executor", `${e.executor}, ${e.workers.length} worker${e.workers.length === 1 ? "" : "s"}; coordinator on ${e.host}`],
    ["resumes", e.resumes.length === 0 ? "none" : e.resumes.map((r) => `${r.at} (${r.recorded_before} evaluations recorded before)`).join("; ")],
    ["forced config changes", e.config_changes.length === 0 ? "none" : e.config_changes.map((c) => `${c.at}: ${c.changes.length > 0 ? c.changes.join("; ") : c.fields.join(", ")}`).join(" | ")],
  ];
}

const strategyRows = (d: ReportData) => d.experiment.strategies.map((s) => [s.label, s.name, optionsLine(s.options)]);
const workerRows = (d: ReportData) => d.experiment.workers.map((w) => [w.address, w.worker_id ?? "-", w.devices.join("; ") || "-", w.completed === null ? "-" : String(w.completed)]);

function htmlExperiment(d: ReportData): string {
  const facts = experimentFacts(d).map(([k, v]) => `<tr id="experiment-${k.replace(/\W+/g, "-")}"><th>${html(k)}</th><td>${html(v)}</td></tr>`).join("");
  const options = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `<span class="option" data-option="${html(k)}">${html(k)} ${html(optionValue(v))}</span>`).join(", ") || "no options";
  const strategies = d.experiment.strategies.map((s) => `<tr data-strategy="${html(s.label)}"><td>${html(s.label)}</td><td>${html(s.name)}</td><td>${options(s.options)}</td></tr>`).join("");
  return `<table class="facts">${facts}</table>
<table id="experiment-strategies"><thead><tr><th>strategy</th><th>kind</th><th>options</th></tr></thead><tbody>${strategies}</tbody></table>
${d.experiment.workers.length > 0 ? htmlTable("experiment-workers", ["worker", "id", "devices", "evaluations"], workerRows(d)) : ""}`;
}

function markdownExperiment(d: ReportData): string {
  return [
    mdTable(["", ""], experimentFacts(d)),
    "",
    mdTable(["strategy", "kind", "options"], strategyRows(d)),
    ...(d.experiment.workers.length > 0 ? ["", mdTable(["worker", "id", "devices", "evaluations"], workerRows(d))] : []),
  ].join("\n");
}

// --- failures ----------------------------------------------------------------------------------

const hasFailures = (d: ReportData) => d.failures.run_error !== null || d.failures.failed_trials > 0 || d.failures.missing_best_images > 0;

function missingImagesText(d: ReportData): string {
  const k = d.failures.missing_best_images;
  return `${k} best image${k === 1 ? "" : "s"} missing from best/ (not rendered, or not written); render them with \`${d.failures.render_command}\`, then run sweep report again.`;
}

function failedIntro(d: ReportData): string {
  const fl = d.failures;
  return `${fl.failed_trials} trial${fl.failed_trials === 1 ? "" : "s"} failed, in ${fl.failed_searches.length} search${fl.failed_searches.length === 1 ? "" : "es"} (one row each: a search's error fails its trials at the budgets listed)${fl.failed_searches.length > FAILED_LISTED ? `; the first ${FAILED_LISTED} are listed, all are in trials.csv` : ""}.`;
}

const failedRows = (d: ReportData) => d.failures.failed_searches.slice(0, FAILED_LISTED).map((s) => [`${s.prompt_index}: ${shortPrompt(s.prompt)}`, s.strategy, String(s.seed), s.budgets.join(", "), s.error]);
const FAILED_HEADER = ["prompt", "strategy", "seed", "budgets", "error"];

function htmlFailures(d: ReportData): string | null {
  if (!hasFailures(d)) return null;
  const fl = d.failures;
  const parts: string[] = [];
  if (fl.run_error !== null) parts.push(`<p id="run-error">The run stopped: <code>${html(fl.run_error)}</code></p>`);
  if (fl.failed_trials > 0) {
    parts.push(`<p>${html(failedIntro(d))}</p>`);
    const rows = failedRows(d).map((r) => `<tr>${r.map((c, i) => (i === 4 ? `<td class="error"><pre>${html(c)}</pre></td>` : `<td>${html(c)}</td>`)).join("")}</tr>`).join("");
    parts.push(`<table id="failed-trials"><thead><tr>${FAILED_HEADER.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table>`);
  }
  if (fl.missing_best_images > 0) parts.push(`<p id="missing-images">${html(missingImagesText(d)).replace(/`([^`]+)`/, "<code>$1</code>")}</p>`);
  return parts.join("\n");
}

function markdownFailures(d: ReportData): string | null {
  if (!hasFailures(d)) return null;
  const fl = d.failures;
  const parts: string[] = [];
  if (fl.run_error !== null) parts.push(`The run stopped: \`${fl.run_error}\``);
  if (fl.failed_trials > 0) parts.push(failedIntro(d), mdTable(FAILED_HEADER, failedRows(d)));
  if (fl.missing_best_images > 0) parts.push(missingImagesText(d));
  return parts.join("\n\n");
}

// --- per prompt --------------------------------------------------------------------------------

function perPromptTable(d: ReportData): { header: string[]; rows: { prompt: string; full: string; cells: string[] }[] } {
  const pp = d.per_prompt;
  return {
    header: ["prompt", ...pp.strategies, ...pp.compared.map((s) => `${s} - ${pp.baseline}`)],
    rows: pp.rows.map((r) => ({ prompt: `${r.prompt_index}: ${shortPrompt(r.prompt)}`, full: `${r.prompt_index}: ${r.prompt}`, cells: [...r.means.map((m) => f(m)), ...r.diffs.map(signed)] })),
  };
}

function perPromptIntro(d: ReportData): string {
  const pp = d.per_prompt;
  return `Mean best score over seeds at budget ${pp.budget}, per prompt${pp.compared.length > 0 ? `, and the mean paired difference to ${pp.baseline}; sorted by ${pp.compared[0]} - ${pp.baseline}, largest first` : ""}. Prompts are shortened here; per_prompt.csv has them whole, report.json every budget with intervals.`;
}

function htmlPerPrompt(d: ReportData): string {
  const t = perPromptTable(d);
  const body = t.rows.map((r) => `<tr><td class="prompt" title="${html(r.full)}">${html(r.prompt)}</td>${r.cells.map((c) => `<td>${html(c)}</td>`).join("")}</tr>`).join("");
  const table = `<table id="per-prompt"><thead><tr>${t.header.map((h) => `<th>${html(h)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table>`;
  const open = t.rows.length <= PER_PROMPT_OPEN ? " open" : "";
  return `<p>${html(perPromptIntro(d))}</p>\n<details id="per-prompt-details"${open}><summary>${t.rows.length} prompts</summary>${table}</details>`;
}

function markdownPerPrompt(d: ReportData): string {
  const t = perPromptTable(d);
  return `${perPromptIntro(d)}\n\n${mdTable(t.header, t.rows.map((r) => [r.prompt, ...r.cells]))}`;
}

// --- the list ----------------------------------------------------------------------------------

const BEST_NOISES = "The best noise of every trial can be rebuilt from this folder and rendered with the reference pipeline: `sweep noise --run <this run folder> --best --out-dir best_noises`.";

export const REPORT_SECTIONS: ReportSection[] = [
  { id: "failures", title: () => "What went wrong", markdown: markdownFailures, html: htmlFailures },
  { id: "result", title: () => "Result: strategy x budget", markdown: markdownPivot, html: htmlPivot },
  {
    id: "budget-curves", title: () => "Budget curves",
    markdown: () => "![budget curves](budget_curve.svg)",
    html: (_d, o) => `<figure id="budget-curve">${(o.curveSvg ?? "").replace(/^<\?xml[^>]*>/, "")}</figure>`,
  },
  {
    id: "against-baseline", title: (d) => `Against the baseline (${d.baseline}), paired by (prompt, seed)`,
    markdown: (d) => (d.comparisons.length > 0 ? `${mdTable(COMPARISON_HEADER, comparisonRows(d))}\n\n${WILCOXON}` : d.no_comparison ?? ""),
    html: (d) => (d.comparisons.length > 0 ? `${htmlTable("comparisons", COMPARISON_HEADER, comparisonRows(d))}\n<p>${html(WILCOXON)}</p>` : `<p id="comparisons">${html(d.no_comparison ?? "")}</p>`),
  },
  {
    id: "evaluations-to-match", title: (d) => `Evaluations to match ${d.baseline} at its largest budget`,
    markdown: (d) => (d.evaluations_to_match.length > 0 ? mdTable(MATCH_HEADER, matchRows(d)) : d.no_match ?? ""),
    html: (d) => (d.evaluations_to_match.length > 0 ? htmlTable("match", MATCH_HEADER, matchRows(d)) : `<p id="no-match">${html(d.no_match ?? "")}</p>`),
  },
  {
    id: "heldout", title: () => "Held-out rewards",
    markdown: (_d, o) => (o.heldout ? heldoutMarkdown(o.heldout.report) : null),
    html: (_d, o) => (o.heldout ? heldoutHtml(o.heldout.report, o.heldout.svg) : null),
  },
  { id: "experiment", title: () => "The experiment", markdown: markdownExperiment, html: htmlExperiment },
  { id: "per-prompt-section", title: () => "Per prompt", markdown: markdownPerPrompt, html: htmlPerPrompt },
  { id: "best-images", title: () => "Best images", markdown: (d, o) => markdownBestImages(d.gallery, o.runLink), html: (d, o) => htmlGallery(d.gallery, o, BEST_NOISES) },
  { id: "best-noises", title: () => "Best noises", markdown: () => BEST_NOISES, html: () => null },
];
