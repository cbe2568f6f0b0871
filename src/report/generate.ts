/** `sweep report`: reads a run folder, writes report files into it (or --out), returns the numbers. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { analyse, type AnalyseOptions, type ReportData } from "./analyse.js";
import { loadRun } from "./load-run.js";
import { budgetCurveSpec, renderSvg, svgToPng } from "./plots.js";
import { csvReport, htmlReport, latexReport, markdownReport } from "./render.js";

export type ReportFormat = "md" | "csv" | "latex" | "json";

export interface ReportOptions extends AnalyseOptions {
  format?: ReportFormat;
  out?: string;
}

export interface GeneratedReport {
  data: ReportData;
  files: string[];
}

export async function generateReport(runDir: string, opts: ReportOptions = {}): Promise<GeneratedReport> {
  const run = await loadRun(runDir);
  const data = analyse(run, opts);
  const out = opts.out ?? runDir;
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(out, name);
    writeFileSync(file, content);
    files.push(file);
  };
  const svg = await renderSvg(budgetCurveSpec(data));
  write("budget_curve.svg", svg);
  write("budget_curve.png", await svgToPng(svg));
  write("report.md", markdownReport(data));
  write("report.html", htmlReport(data, svg));
  if (opts.format === "csv") write("report.csv", csvReport(data));
  if (opts.format === "latex") write("report.tex", latexReport(data));
  if (opts.format === "json") write("report.json", `${JSON.stringify(data, null, 2)}\n`);
  return { data, files };
}
