/** `sweep report`: tables, comparisons and budget curves of a run folder. */
import type { Argv } from "yargs";
import type { ReportFormat } from "../report/generate.js";
import { nonNegativeInteger, numberFlag } from "./flags.js";

export function reportCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("report <run-dir>", "Tables, paired comparisons and budget curves of a run (report.md, report.html, budget_curve.svg/png)", (c) => c
    .positional("run-dir", { type: "string", demandOption: true, describe: "A run folder (results/<name>/<run id>)" })
    .option("baseline", { type: "string", describe: "Strategy label to compare against (default: random, else the first)" })
    .option("format", { choices: ["md", "csv", "latex", "json"] as const, default: "md" as const, describe: "Also write report.csv, report.tex or report.json" })
    .option("out", { type: "string", describe: "Folder for the report files (default: the run folder)" })
    .option("resamples", { type: "number", default: 10000, coerce: numberFlag("resamples", { integer: true, min: 100, what: "an integer >= 100" }), describe: "Bootstrap resamples for the tables" })
    .option("seed", { type: "number", default: 12345, coerce: nonNegativeInteger("seed"), describe: "Bootstrap resampling seed" }),
  async (args) => {
    const [{ generateReport }, { terminalTable }] = await Promise.all([import("../report/generate.js"), import("../report/render.js")]);
    const report = await generateReport(args["run-dir"], { baseline: args.baseline, format: args.format as ReportFormat, out: args.out, resamples: args.resamples, seed: args.seed });
    process.stdout.write(`${terminalTable(report.data)}\n\nWrote ${report.files.join(", ")}\n`);
  });
}
