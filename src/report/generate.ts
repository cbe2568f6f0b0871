/** `sweep report`: reads a run folder, writes report files into it (or --out), returns the numbers. */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { analyse, type AnalyseOptions, type ReportData } from "./analyse.js";
import { galleryImages, type Gallery } from "./gallery.js";
import { loadRun } from "./load-run.js";
import { createFolder } from "../results/run-dir.js";
import { budgetCurveSpec, renderSvg, svgToPng } from "./plots.js";
import { csvReport, htmlReport, latexReport, markdownReport, perPromptCsv, type EmbeddedThumbnail } from "./render.js";
import { jpegThumbnail } from "./thumbnail.js";

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
  const run = await loadRun(runDir, { bestFiles: true });
  const data = analyse(run, opts);
  const out = opts.out ?? runDir;
  createFolder(out, "--out");
  const files: string[] = [];
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(out, name);
    writeFileSync(file, content);
    files.push(file);
  };
  const svg = await renderSvg(budgetCurveSpec([{ reward: "score", points: data.curves }], { name: data.name, complete: data.complete, budgets: data.budgets, strategies: data.strategies }));
  write("budget_curve.svg", svg);
  write("budget_curve.png", await svgToPng(svg));
  const runLink = path.relative(path.resolve(out), path.resolve(runDir)).split(path.sep).join("/");
  write("report.md", markdownReport(data, { runLink }));
  write("report.html", htmlReport(data, svg, { runLink, thumbnails: galleryThumbnails(runDir, data.gallery) }));
  write("per_prompt.csv", perPromptCsv(data));
  if (opts.format === "csv") write("report.csv", csvReport(data));
  if (opts.format === "latex") write("report.tex", latexReport(data));
  if (opts.format === "json") write("report.json", `${JSON.stringify(data, null, 2)}\n`);
  return { data, files };
}

/** The gallery's images as JPEG thumbnails in data: URIs (the page stays self-contained), or why not. */
export function galleryThumbnails(runDir: string, gallery: Gallery): Map<string, EmbeddedThumbnail> {
  const out = new Map<string, EmbeddedThumbnail>();
  for (const image of galleryImages(gallery)) {
    try {
      const t = jpegThumbnail(readFileSync(path.join(runDir, image)));
      out.set(image, { uri: `data:image/jpeg;base64,${Buffer.from(t.jpeg).toString("base64")}`, width: t.width, height: t.height });
    } catch (e) {
      out.set(image, { error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
