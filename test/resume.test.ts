import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, sweepBin, sweepDir, tempDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";

const yaml = `name: resume
prompts: ["a cat", "a dog"]
seeds: [0, 1]
budgets: [8, 30]
strategies:
  - name: random
  - name: ses
    popsize: 6
    elites: 3
    level: 3
evaluator: { kind: synthetic, shape: [1, 8, 32, 32], latency_ms: 8 }
`;

const rows = (csv: string) => (existsSync(csv) ? readFileSync(csv, "utf8").split("\n").length - 2 : 0);

/** Starts a run and SIGKILLs the coordinator once `after` rows are recorded. */
async function killAfter(dir: string, runDir: string, after: number): Promise<void> {
  const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir, stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  const csv = path.join(runDir, "evaluations.csv");
  while ((!existsSync(path.join(runDir, "manifest.json")) || rows(csv) < after) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGKILL");
  await exited;
}

describe("resume after the coordinator is killed", () => {
  it("ends with the CSVs of an uninterrupted run, for kills at several points and mid-write", async () => {
    const ref = tempDir();
    writeFileSync(path.join(ref, "sweep.yaml"), yaml);
    const full = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: ref });
    expect(full.code, full.stderr).toBe(0);
    const want = [...scoresByKey(readCsv(path.join(ref, "run"), "evaluations.csv"))].sort();
    const wantTrials = readCsv(path.join(ref, "run"), "trials.csv").map((t) => JSON.stringify({ ...t, run_id: "" })).sort();
    expect(want.length).toBe(2 * 2 * 2 * 30);

    for (const [after, torn] of [[0, false], [7, false], [45, true], [150, true]] as const) {
      const dir = sweepDir(yaml);
      const runDir = path.join(dir, "run");
      await killAfter(dir, runDir, after);
      const csv = path.join(runDir, "evaluations.csv");
      if (torn) {
        // A kill in the middle of a write leaves half a line: cut the last row in two.
        const text = readFileSync(csv, "utf8");
        truncateSync(csv, text.length - Math.floor(text.slice(text.lastIndexOf("\n", text.length - 2)).length / 2));
      }
      expect(readManifest(runDir).status).toBe("running");
      const r = await runCli(["run", "sweep.yaml", "--resume", runDir, "--threads", "2"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      if (torn) expect(r.stderr).toMatch(/dropped a torn last line/);
      const got = readCsv(runDir, "evaluations.csv");
      expect(scoresByKey(got).size, `kill after ${after}`).toBe(got.length);
      expect([...scoresByKey(got)].sort(), `kill after ${after}`).toEqual(want);
      expect(readCsv(runDir, "trials.csv").map((t) => JSON.stringify({ ...t, run_id: "" })).sort()).toEqual(wantTrials);
      const m = readManifest(runDir);
      expect(m.status).toBe("completed");
      expect(m.resumes.length).toBe(1);
    }
  }, 240_000);

  it("refuses a changed config, naming what changed, unless --force", async () => {
    const dir = sweepDir(yaml);
    const runDir = path.join(dir, "run");
    await killAfter(dir, runDir, 10);
    const before = readFileSync(path.join(runDir, "evaluations.csv"), "utf8");
    const r = await runCli(["run", "sweep.yaml", "--resume", runDir, "--set", "budgets=[8,40]"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the sweep changed since .* was started \(fingerprint [0-9a-f]{12} -> [0-9a-f]{12}\)/);
    expect(r.stderr).toMatch(/budgets: \[8,30\] -> \[8,40\]/);
    expect(r.stderr).toMatch(/--force/);
    expect(readFileSync(path.join(runDir, "evaluations.csv"), "utf8")).toBe(before);
    // Execution-only fields are outside the fingerprint; --force accepts a real change.
    const forced = await runCli(["run", "sweep.yaml", "--resume", runDir, "--set", "budgets=[8,40]", "--set", "evaluator.latency_ms=0", "--force"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(path.join(runDir, "evaluations.csv"), "utf8").startsWith(before)).toBe(true);
  });

  it("a SIGINT stop says how to resume, and resuming completes the run", async () => {
    const dir = sweepDir(yaml);
    const runDir = path.join(dir, "run");
    const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", runDir], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    while (rows(path.join(runDir, "evaluations.csv")) < 20) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGINT");
    expect(await new Promise((r) => child.on("close", r))).toBe(130);
    expect(readManifest(runDir).status).toBe("interrupted");
    expect(stderr).toMatch(/Resume with: sweep run sweep\.yaml --resume /);
    appendFileSync(path.join(runDir, "evaluations.csv"), "");
    const r = await runCli(["run", "sweep.yaml", "--resume", runDir], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(scoresByKey(readCsv(runDir, "evaluations.csv")).size).toBe(2 * 2 * 2 * 30);
  });

  it("refuses an evaluations.csv with two rows for one key (edited by hand, or two runs merged), changing nothing", async () => {
    const dir = sweepDir(yaml);
    const runDir = path.join(dir, "run");
    await killAfter(dir, runDir, 10);
    const csv = path.join(runDir, "evaluations.csv");
    const lines = readFileSync(csv, "utf8").split("\n");
    appendFileSync(csv, `${lines[2]}\n`);
    const before = readFileSync(csv, "utf8");
    const [, searchId, , , , , , evalIndex] = lines[2].split(",");
    const r = await runCli(["run", "sweep.yaml", "--resume", runDir], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`has two rows for ${searchId} eval ${evalIndex}`);
    expect(readFileSync(csv, "utf8")).toBe(before);
  });
});
