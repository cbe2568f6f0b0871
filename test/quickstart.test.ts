import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { readCsv, readManifest } from "./run-results.js";

describe("quick start (configs/quickstart.yaml, the README's first command)", () => {
  it("runs with progress, writes the run folder, prints the summary, and SES beats random at budget 50", async () => {
    const dir = tempDir();
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", "configs/quickstart.yaml", "--run-dir", runDir, "--log-every", "2"], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\[sweep\] \d+\/\d+ evaluations \(random \d+\/\d+, ses \d+\/\d+\), [\d.]+\/s, ETA/m);
    expect(r.stdout).toMatch(/Mean best score/);
    const m = readManifest(runDir);
    expect(m.status).toBe("completed");
    const trials = readCsv(runDir, "trials.csv").filter((t) => t.budget === "50");
    const mean = (s: string) => {
      const xs = trials.filter((t) => t.strategy === s).map((t) => Number(t.best_score));
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(mean("ses")).toBeGreaterThan(mean("random") + 0.5);
    expect(readCsv(runDir, "evaluations.csv").length).toBe(m.plan.evaluations);
    // The report is written at the end of every run.
    for (const f of ["report.md", "report.html", "budget_curve.svg", "budget_curve.png"]) expect(existsSync(path.join(runDir, f)), f).toBe(true);
  }, 300_000);
});
