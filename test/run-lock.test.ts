/**
 * One writer per run folder: a second coordinator on a folder being written is refused, naming the
 * holder; a lock whose owner is gone (killed here, or silent elsewhere) is taken over by --resume.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { expect, test } from "vitest";
import { staleReason } from "../src/results/run-lock.js";
import { runCli, sweepBin, sweepDir } from "./cli.js";
import { repoRoot } from "./reference.js";

const yaml = "prompts: [a, b]\nseeds: [0, 1, 2, 3]\nbudgets: [30]\nstrategies: [{name: random}, {name: ses, popsize: 5, elites: 2, level: 2}]\nevaluator: {kind: synthetic, shape: [1, 4, 16, 16], latency_ms: 20}\n";
const keys = (runDir: string) => (parse(readFileSync(path.join(runDir, "evaluations.csv")), { columns: true }) as Record<string, string>[]).map((r) => `${r.search_id}#${r.eval_index}`);

function startRun(args: string[]) {
  const child = spawn(process.execPath, [sweepBin, "run", ...args, "--threads", "2"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, done, stderr: () => stderr };
}

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a second coordinator on a folder being written is refused with the holder; report says in progress; one writer, no duplicate key", async () => {
  const dir = sweepDir(yaml);
  const runDir = path.join(dir, "run");
  const first = startRun([path.join(dir, "sweep.yaml"), "--run-dir", runDir]);
  await waitFor(() => existsSync(path.join(runDir, "evaluations.csv")) && keys(runDir).length > 20);
  const second = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(second.stderr).toMatch(new RegExp(`is being written by process ${first.child.pid} on ${hostname()}`));
  expect(second.code).toBe(2);
  const report = await runCli(["report", runDir]);
  expect(report.code).toBe(0);
  expect(readFileSync(path.join(runDir, "report.md"), "utf8")).toMatch(/IN PROGRESS: the run is being written by process \d+/);
  expect(await first.done).toBe(0);
  const recorded = keys(runDir);
  expect(new Set(recorded).size).toBe(recorded.length);
  expect(recorded).toHaveLength(2 * 4 * 2 * 30);
  expect(existsSync(path.join(runDir, ".lock"))).toBe(false);
  expect((await runCli(["report", runDir])).stdout).toMatch(/Complete run\./);
});

test("the lock of a coordinator killed with SIGKILL is taken over by --resume, which completes the run", async () => {
  const dir = sweepDir(yaml);
  const runDir = path.join(dir, "run");
  const first = startRun([path.join(dir, "sweep.yaml"), "--run-dir", runDir]);
  await waitFor(() => existsSync(path.join(runDir, "evaluations.csv")) && keys(runDir).length > 20);
  first.child.kill("SIGKILL");
  await first.done;
  expect(existsSync(path.join(runDir, ".lock"))).toBe(true);
  // latency_ms changes no score (it is outside the fingerprint): the rest need not wait for it
  const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir, "--set", "evaluator.latency_ms=0"]);
  expect(resumed.stderr).toMatch(new RegExp(`took over the lock of .*: process ${first.child.pid} on this host is gone`));
  expect(resumed.code).toBe(0);
  expect(new Set(keys(runDir)).size).toBe(2 * 4 * 2 * 30);
});

test("a lock from another host is honoured while its heartbeat is fresh, and taken over once it is stale", async () => {
  const dir = sweepDir(yaml.replace("latency_ms: 20", "latency_ms: 0"));
  const runDir = path.join(dir, "run");
  const first = await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir]);
  expect(first.code).toBe(0);
  const lock = (ageMs: number) => {
    const t = new Date(Date.now() - ageMs).toISOString();
    writeFileSync(path.join(runDir, ".lock"), JSON.stringify({ host: "node-17.cluster", pid: 4242, started_at: t, heartbeat_at: t }));
  };
  lock(1_000);
  const refused = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(refused.stderr).toMatch(/is being written by process 4242 on node-17\.cluster/);
  expect(refused.code).toBe(2);
  lock(120_000);
  const taken = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir]);
  expect(taken.stderr).toMatch(/took over the lock of .*: its heartbeat is 1[12]\d s old/);
  expect(taken.code).toBe(0);
});

test("a lock naming this very process is stale: a restarted container gets the same hostname and pid as the coordinator that left it", () => {
  const now = new Date().toISOString();
  const left = { host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now };
  expect(staleReason(left)).toMatch(/names this process/);
  expect(staleReason({ ...left, pid: process.ppid })).toBeUndefined();
});
