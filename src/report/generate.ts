/** `sweep report`: reads a run folder, writes report files into it (or --out), returns the numbers. */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { analyse, type AnalyseOptions, type ReportData } from "./analyse.js";
import { galleryImages, type Gallery } from "./gallery.js";
import { heldoutGainSpec, heldoutReport, type HeldoutReport } from "./heldout.js";
import { loadRun, type LoadedRun } from "./load-run.js";
import { readHeldoutRows } from "../results/heldout-csv.js";
import { DEFAULT_BOOTSTRAP_SEED, DEFAULT_RESAMPLES } from "../statistics/bootstrap.js";
import { createFolder } from "../results/run-dir.js";
import { budgetCurveSpec, renderSvg, svgToPng } from "./plots.js";
import { csvReport, htmlReport, latexReport, markdownReport, perPromptCsv, type EmbeddedThumbnail } from "./render.js";
import type { SectionOptions } from "./sections.js";
import { jpegThumbnail } from "./thumbnail.js";

export type ReportFormat = "md" | "csv" | "latex" | "json";

export interface ReportOptions extends AnalyseOptions {
  format?: ReportFormat;
  out?: string;
}

export interface GeneratedReport {
  data: ReportData;
  files: string[];
  /** the held-out section, when the run has a heldout.csv */
  heldout: HeldoutReport | null;
}

/** The held-out numbers of a run with heldout.csv (null without). */
function heldoutSection(run: LoadedRun, data: ReportData, opts: ReportOptions): HeldoutReport | null {
  const rows = readHeldoutRows(run.runDir);
  if (rows.length === 0) return null;
  const e = run.sweep.evaluator;
  const optimised = e.kind === "flux2-pickscore" ? e.reward ?? `${e.model} (PickScore)` : e.kind;
  return heldoutReport(rows, run.sweep.strategies.map((s) => s.label), run.sweep.budgets, optimised, data.baseline, {
    resamples: opts.resamples ?? DEFAULT_RESAMPLES, seed: opts.seed ?? DEFAULT_BOOTSTRAP_SEED,
  });
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
  const heldout = heldoutSection(run, data, opts);
  let heldoutPart: SectionOptions = {};
  if (heldout) {
    const heldoutSvg = await renderSvg(heldoutGainSpec(heldout, data.name));
    write("heldout_gain.svg", heldoutSvg);
    write("heldout_gain.png", await svgToPng(heldoutSvg));
    heldoutPart = { heldout: { report: heldout, svg: heldoutSvg } };
  }
  write("report.md", markdownReport(data, { runLink, ...heldoutPart }));
  write("report.html", htmlReport(data, svg, { runLink, thumbnails: galleryThumbnails(runDir, data.gallery), ...heldoutPart }));
  write("per_prompt.csv", perPromptCsv(data));
  if (opts.format === "csv") write("report.csv", csvReport(data));
  if (opts.format === "latex") write("report.tex", latexReport(data));
  if (opts.format === "json") write("report.json", `${JSON.stringify(data, null, 2)}\n`);
  return { data, files, heldout };
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
