import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, sweepBin, sweepDir, tempDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

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
    // The reference and the kills are separate runs in separate folders: they run side by side
    // (the scores do not depend on the evaluator's latency, which only spaces the kills out).
    const fullRun = runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2", "--set", "evaluator.latency_ms=0"], { cwd: ref });
    const resumed = await Promise.all(([[0, false], [7, false], [45, true], [150, true]] as const).map(async ([after, torn]) => {
      const dir = sweepDir(yaml);
      const runDir = path.join(dir, "run");
      await killAfter(dir, runDir, after);
      const csv = path.join(runDir, "evaluations.csv");
      if (torn) {
        // A kill in the middle of a write leaves half a line: cut the last row in two.
        const text = readFileSync(csv, "utf8");
        truncateSync(csv, text.length - Math.floor(text.slice(text.lastIndexOf("\n", text.length - 2)).length / 2));
      }
      expect(readManifest(runDir).status, `kill after ${after}`).toBe("running");
      const r = await runCli(["run", "sweep.yaml", "--resume", runDir, "--threads", "2"], { cwd: dir });
      return { after, torn, runDir, r };
    }));
    const full = await fullRun;
    expect(full.code, full.stderr).toBe(0);
    const want = [...scoresByKey(readCsv(path.join(ref, "run"), "evaluations.csv"))].sort();
    const wantTrials = readCsv(path.join(ref, "run"), "trials.csv").map((t) => JSON.stringify({ ...t, run_id: "" })).sort();
    expect(want.length).toBe(2 * 2 * 2 * 30);

    for (const { after, torn, runDir, r } of resumed) {
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

  it("zero-order and evolution too: a killed run resumed ends with the CSVs of an uninterrupted one", async () => {
    const searchYaml = yaml.replace(/strategies:[\s\S]*?evaluator:/, "strategies:\n  - { name: zero-order, neighbors: 3 }\n  - { name: evolution, popsize: [6, 4], elites: 2 }\nevaluator:");
    expect(searchYaml).toContain("zero-order");
    const ref = sweepDir(searchYaml);
    // side by side, as above
    const fullRun = runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2", "--set", "evaluator.latency_ms=0"], { cwd: ref });
    const resumed = await Promise.all([11, 70].map(async (after) => {
      const dir = sweepDir(searchYaml);
      const runDir = path.join(dir, "run");
      await killAfter(dir, runDir, after);
      expect(readManifest(runDir).status, `kill after ${after}`).toBe("running");
      const r = await runCli(["run", "sweep.yaml", "--resume", runDir, "--threads", "2"], { cwd: dir });
      return { after, runDir, r };
    }));
    const full = await fullRun;
    expect(full.code, full.stderr).toBe(0);
    const want = [...scoresByKey(readCsv(path.join(ref, "run"), "evaluations.csv"))].sort();
    const wantRows = readCsv(path.join(ref, "run"), "evaluations.csv").map((r) => `${r.search_id}#${r.eval_index},${r.generation},${r.noise_seed}`).sort();
    expect(want.length).toBe(2 * 2 * 2 * 30);
    for (const { after, runDir, r } of resumed) {
      expect(r.code, r.stderr).toBe(0);
      const got = readCsv(runDir, "evaluations.csv");
      expect(scoresByKey(got).size, `kill after ${after}`).toBe(got.length);
      expect([...scoresByKey(got)].sort(), `kill after ${after}`).toEqual(want);
      expect(got.map((r) => `${r.search_id}#${r.eval_index},${r.generation},${r.noise_seed}`).sort()).toEqual(wantRows);
    }
  }, 120_000);

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

  it("a forced resume records the new config, its fingerprint and the change; trials.csv and the report agree", async () => {
    const dir = sweepDir(yaml.replace("latency_ms: 8", "latency_ms: 0"));
    const runDir = path.join(dir, "run");
    const first = await runCli(["run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const before = readManifest(runDir);
    const plan = await runCli(["plan", "sweep.yaml", "--set", "seeds=[0,1,2]"], { cwd: dir });
    const fingerprint = /^fingerprint: ([0-9a-f]{64})$/m.exec(plan.stdout)![1];
    expect(fingerprint).not.toBe(before.fingerprint);

    const forced = await runCli(["run", "sweep.yaml", "--resume", runDir, "--set", "seeds=[0,1,2]", "--force", "--threads", "2"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    const m = readManifest(runDir);
    expect(m.config.seeds).toEqual([0, 1, 2]);
    expect(m.fingerprint).toBe(fingerprint);
    expect(m.overrides).toEqual(["seeds=[0,1,2]"]);
    expect(m.plan).toEqual({ searches: 2 * 2 * 3, trials: 2 * 2 * 3 * 2, evaluations: 2 * 2 * 3 * 30 });
    expect(m.config_changes).toHaveLength(1);
    expect(m.config_changes[0]).toMatchObject({ from_fingerprint: before.fingerprint, to_fingerprint: fingerprint, fields: ["seeds"] });
    expect(m.config_changes[0].changes).toEqual(["seeds: [0,1] -> [0,1,2]"]);
    expect(Date.parse(m.config_changes[0].at)).toBeGreaterThan(Date.parse(before.started_at));
    expect(scoresByKey(readCsv(runDir, "evaluations.csv")).size).toBe(2 * 2 * 3 * 30);
    expect(readCsv(runDir, "trials.csv")).toHaveLength(2 * 2 * 3 * 2);
    // The report written at the end of the resumed run, and a new one, count 2 prompts x 3 seeds.
    const md = readFileSync(path.join(runDir, "report.md"), "utf8");
    expect(md).toMatch(/^\| strategy \| budget \d+ \| budget 30 \|$/m);
    expect(md).toMatch(/over 6 \(prompt, seed\) pairs per cell/);
    // the experiment names the resume and the forced change
    expect(md).toMatch(/^\| seeds \| 0-2 \(3 seeds\) \|$/m);
    expect(md).toMatch(/^\| resumes \| \S+ \(\d+ evaluations recorded before\) \|$/m);
    expect(md).toMatch(/^\| forced config changes \| \S+: seeds: \[0,1\] -> \[0,1,2\] \|$/m);
    const report = await runCli(["report", runDir, "--format", "json", "--out", path.join(dir, "rep")]);
    expect(report.code, report.stderr).toBe(0);
    const data = JSON.parse(readFileSync(path.join(dir, "rep", "report.json"), "utf8"));
    expect(data.complete).toBe(true);
    expect(data.tables.map((t: { n: number }) => t.n)).toEqual([6, 6, 6, 6]);
    // The recorded fingerprint is the new one: the same command resumes without --force.
    const again = await runCli(["run", "sweep.yaml", "--resume", runDir, "--set", "seeds=[0,1,2]", "--threads", "2"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/360 evaluations already recorded, 0 to go/);
  });

  it("the printed resume command resumes a run started with --set, --workers and --token, as printed (the token as SWEEP_TOKEN=...)", async () => {
    const worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2", "--token", "s3cret-token"]);
    try {
      const dir = sweepDir(yaml);
      const args = ["run", "sweep.yaml", "--run-dir", "run", "--set", "seeds=[0, 1, 2]", "--set", "strategies.1.popsize=4", "--workers", worker.address, "--token", "s3cret-token"];
      // started as `sweep` (not through npx or an npm script), it prints `sweep run ...`
      const child = spawn(process.execPath, [sweepBin, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_command: "" } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      while (rows(path.join(dir, "run", "evaluations.csv")) < 20 && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      child.kill("SIGINT");
      expect(await new Promise((r) => child.on("close", r)), stderr).toBe(130);
      expect(stderr).not.toContain("s3cret-token");
      const printed = /^Resume with: (.*)$/m.exec(stderr)![1];
      expect(printed).toMatch(/^SWEEP_TOKEN=\.\.\. sweep run sweep\.yaml --resume run /);
      // Run it as printed, by a shell, with `sweep` on the PATH and the token in place of "...".
      const bin = tempDir();
      writeFileSync(path.join(bin, "sweep"), `#!/bin/sh\nexec "${process.execPath}" "${sweepBin}" "$@"\n`, { mode: 0o755 });
      const shell = spawn("sh", ["-c", printed.replace("SWEEP_TOKEN=...", "SWEEP_TOKEN=s3cret-token")], {
        cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
      });
      let out = "";
      shell.stderr.on("data", (d) => (out += d));
      expect(await new Promise((r) => shell.on("close", r)), out).toBe(0);
      const m = readManifest(path.join(dir, "run"));
      expect(m.status).toBe("completed");
      expect(m.resumes).toHaveLength(1);
      expect(m.config.seeds).toEqual([0, 1, 2]);
      expect(m.config.strategies[1].popsize).toBe(4);
      const got = readCsv(path.join(dir, "run"), "evaluations.csv");
      expect(scoresByKey(got).size).toBe(2 * 2 * 3 * 30);
      expect(new Set(got.map((r) => r.worker.split("/")[0]))).toEqual(new Set([worker.address]));
    } finally {
      await worker.stop();
    }
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
    expect(stderr).toMatch(/Resume with: (npx )?sweep run sweep\.yaml --resume /);
    // A SIGINT stop ends in whole lines: what is recorded is kept as written, nothing is torn.
    const csv = path.join(runDir, "evaluations.csv");
    const stopped = readFileSync(csv, "utf8");
    expect(stopped.endsWith("\n")).toBe(true);
    expect(readManifest(runDir).counts.evaluations).toBe(stopped.split("\n").length - 2);
    const r = await runCli(["run", "sweep.yaml", "--resume", runDir], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/torn/);
    expect(readFileSync(csv, "utf8").startsWith(stopped)).toBe(true);
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
