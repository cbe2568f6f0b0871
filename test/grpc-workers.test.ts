import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, sweepBin, sweepDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const SEARCHES = `  - name: zero-order
    neighbors: 3
  - name: evolution
    popsize: [6, 4]
    elites: 2
`;

const sweepYaml = (extra = "", budgets = "[5, 40]", seeds = "[0, 1, 2]", more = "") => `name: grpc
prompts: ["a cat", "a lighthouse at dawn"]
seeds: ${seeds}
budgets: ${budgets}
strategies:
  - name: random
  - name: ses
    popsize: 5
    elites: 2
    level: 3
${more}evaluator:
  kind: synthetic
  shape: [1, 8, 32, 32]
${extra}`;

function setup(yaml: string) {
  const dir = sweepDir(yaml);
  return { dir, file: path.join(dir, "sweep.yaml"), runDir: path.join(dir, "run") };
}

const rowsUntil = async (csv: string, n: number) => {
  while (!existsSync(csv) || readFileSync(csv, "utf8").split("\n").length - 2 < n) await new Promise((r) => setTimeout(r, 25));
};

describe("sweep run over gRPC workers", () => {
  it("runs on workers in other processes (--workers) and records the same scores as the default local worker", async () => {
    const [a, b] = await Promise.all([startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]), startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"])]);
    const remote = setup(sweepYaml());
    const local = setup(sweepYaml());
    const [r1, r2] = await Promise.all([
      runCli(["run", remote.file, "--run-dir", remote.runDir, "--workers", `${a.address},${b.address}`], { cwd: remote.dir }),
      runCli(["run", local.file, "--run-dir", local.runDir, "--threads", "1"], { cwd: local.dir }),
    ]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    const remoteRows = readCsv(remote.runDir, "evaluations.csv");
    expect(new Set(remoteRows.map((r) => r.worker.split("/")[0]))).toEqual(new Set([a.address, b.address]));
    expect([...scoresByKey(remoteRows)].sort()).toEqual([...scoresByKey(readCsv(local.runDir, "evaluations.csv"))].sort());
    const m = readManifest(remote.runDir);
    expect(m.executor.kind).toBe("grpc");
    expect(m.executor.workers.map((w: { address: string }) => w.address).sort()).toEqual([a.address, b.address].sort());
    expect(m.executor.workers.every((w: { completed: number; tool_version: string }) => w.completed > 0 && w.tool_version)).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("loses nothing when one worker is SIGKILLed and another SIGSTOPped past the keepalive deadline (every strategy)", async () => {
    const reference = setup(sweepYaml("  latency_ms: 30\n", "[5, 40]", "[0, 1, 2]", SEARCHES));
    // the scores do not depend on the latency: the reference need not wait for it
    const refRun = runCli(["run", reference.file, "--run-dir", reference.runDir, "--threads", "2", "--set", "evaluator.latency_ms=0"], { cwd: reference.dir });
    const workers = await Promise.all([0, 1, 2].map(() => startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"])));
    const s = setup(sweepYaml("  latency_ms: 30\n", "[5, 40]", "[0, 1, 2]", SEARCHES));
    const child = spawn(process.execPath, [sweepBin, "run", s.file, "--run-dir", s.runDir, "--workers", workers.map((w) => w.address).join(","), "--log-every", "1"], { cwd: s.dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const done = new Promise<number | null>((resolve) => child.on("close", resolve));
    const csv = path.join(s.runDir, "evaluations.csv");
    await rowsUntil(csv, 40);
    workers[0].child.kill("SIGKILL");
    workers[1].child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    // The killed worker comes back at the same address and is used again.
    const revived = await startWorkerProcess(["--listen", workers[0].address, "--threads", "2"]);
    await new Promise((r) => setTimeout(r, 7000));
    workers[1].child.kill("SIGCONT");
    const code = await done;
    expect(Date.now() - stoppedAt).toBeGreaterThan(7000);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(new RegExp(`worker ${workers[0].address} lost`));
    expect(stderr).toMatch(new RegExp(`worker ${workers[1].address} lost`));
    expect(stderr.split(`worker ${workers[0].address} up`).length - 1).toBe(2);
    const rows = readCsv(s.runDir, "evaluations.csv");
    expect(rows.length).toBe(2 * 4 * 3 * 40);
    expect(rows.every((r) => r.status === "ok")).toBe(true);
    const ref = await refRun;
    expect(ref.code, ref.stderr).toBe(0);
    expect([...scoresByKey(rows)].sort()).toEqual([...scoresByKey(readCsv(reference.runDir, "evaluations.csv"))].sort());
    const m = readManifest(s.runDir);
    const byAddress = new Map(m.executor.workers.map((w: { address: string }) => [w.address, w]));
    expect((byAddress.get(workers[0].address) as { lost: number }).lost).toBeGreaterThanOrEqual(1);
    expect((byAddress.get(workers[1].address) as { lost: number }).lost).toBeGreaterThanOrEqual(1);
    await Promise.all([...workers, revived].map((w) => w.stop()));
  }, 120_000);

  // How close to ideal the wall time is (scheduling efficiency over workers of mixed size) is a
  // measurement, made by bench/scheduling.mjs; here, what the scheduler must do.
  it("keeps each worker busy to its own slot count: the worker with twice the slots does more of the work", async () => {
    const [small, large] = await Promise.all([
      startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]),
      startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "4"]),
    ]);
    const s = setup(`name: share
prompts: ["a", "b", "c"]
seeds: [0, 1, 2, 3, 4, 5, 6, 7]
budgets: [20]
strategies: [{ name: random }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16], latency_ms: 20 }
`);
    const r = await runCli(["run", s.file, "--run-dir", s.runDir, "--workers", `${small.address},${large.address}`], { cwd: s.dir });
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(s.runDir, "evaluations.csv");
    expect(scoresByKey(rows).size).toBe(3 * 8 * 20);
    const count = (w: string) => rows.filter((x) => x.worker.startsWith(`${w}/`)).length;
    expect(count(small.address) + count(large.address)).toBe(rows.length);
    expect(count(small.address)).toBeGreaterThan(0);
    expect(count(large.address)).toBeGreaterThan(count(small.address));
    const workers = readManifest(s.runDir).executor.workers as { address: string; capacity: number; completed: number }[];
    const byAddress = new Map(workers.map((w) => [w.address, w]));
    expect(byAddress.get(small.address)).toMatchObject({ capacity: 2, completed: count(small.address) });
    expect(byAddress.get(large.address)).toMatchObject({ capacity: 4, completed: count(large.address) });
    await Promise.all([small.stop(), large.stop()]);
  });

  it("adds workers named in a --workers-file while the sweep runs", async () => {
    const first = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]);
    const s = setup(sweepYaml("  latency_ms: 10\n", "[60]", "[0, 1]"));
    const list = path.join(s.dir, "workers.txt");
    writeFileSync(list, `# workers\n${first.address}\n`);
    const run = runCli(["run", s.file, "--run-dir", s.runDir, "--workers-file", list], { cwd: s.dir });
    await rowsUntil(path.join(s.runDir, "evaluations.csv"), 20);
    const second = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]);
    writeFileSync(list, `${first.address}\n${second.address}\n`);
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`worker ${second.address} joined`));
    const rows = readCsv(s.runDir, "evaluations.csv");
    expect(rows.filter((x) => x.worker.startsWith(second.address)).length).toBeGreaterThan(0);
    expect(scoresByKey(rows).size).toBe(2 * 2 * 2 * 60);
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe("removing a worker from --workers-file", () => {
  it("drains it: what it has in flight finishes there, nothing new is sent", async () => {
    const [keep, leave] = await Promise.all([startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]), startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"])]);
    const s = setup(sweepYaml("  latency_ms: 10\n", "[80]", "[0, 1]"));
    const list = path.join(s.dir, "workers.txt");
    writeFileSync(list, `${keep.address}\n${leave.address}\n`);
    const run = runCli(["run", s.file, "--run-dir", s.runDir, "--workers-file", list], { cwd: s.dir });
    await rowsUntil(path.join(s.runDir, "evaluations.csv"), 60);
    writeFileSync(list, `${keep.address}\n`);
    const removedAt = Date.now();
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`worker ${leave.address} left the worker list: draining \\d+ in flight`));
    const rows = readCsv(s.runDir, "evaluations.csv");
    expect(scoresByKey(rows).size).toBe(2 * 2 * 2 * 80);
    // The file is polled every 500 ms; after that and the in-flight 10 ms evaluations, nothing more.
    const late = rows.filter((x) => x.worker.startsWith(`${leave.address}/`) && Date.parse(x.finished_at) > removedAt + 1500);
    expect(late).toHaveLength(0);
    expect(rows.filter((x) => x.worker.startsWith(`${keep.address}/`) && Date.parse(x.finished_at) > removedAt + 1500).length).toBeGreaterThan(0);
    await Promise.all([keep.stop(), leave.stop()]);
  });
});

describe("when its only worker dies", () => {
  it("says once that the sweep waits, resumes when the worker is back, and ends quietly", async () => {
    const first = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]);
    const s = setup(sweepYaml("  latency_ms: 10\n", "[60]", "[0]"));
    const child = spawn(process.execPath, [sweepBin, "run", s.file, "--run-dir", s.runDir, "--workers", first.address], { cwd: s.dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const done = new Promise<number | null>((resolve) => child.on("close", resolve));
    await rowsUntil(path.join(s.runDir, "evaluations.csv"), 20);
    first.child.kill("SIGKILL");
    // Several reconnection attempts (every 2 s at most) while it is down.
    await new Promise((r) => setTimeout(r, 5000));
    const second = await startWorkerProcess(["--listen", first.address, "--threads", "2"]);
    expect(await done, stderr).toBe(0);
    expect(stderr).toContain(`worker ${first.address} lost (`);
    expect(stderr).toContain("no worker is up, the sweep waits for one");
    expect(stderr.split(`worker ${first.address} unavailable`).length - 1, stderr).toBe(1);
    expect(stderr.split(`worker ${first.address} up`).length - 1).toBe(2);
    expect(readCsv(s.runDir, "evaluations.csv")).toHaveLength(2 * 2 * 60);
    await second.stop();
  });
});

describe("a device thread that crashes", () => {
  it("fails its candidate back to the coordinator, which retries it; the pool gets a new thread", async () => {
    const s = setup(`prompts: ["a"]
seeds: [0, 1]
budgets: [10]
strategies: [{ name: random }]
evaluator: { kind: module, path: ./crashy.mjs, shape: [1, 4, 16, 16], retries: 2 }
`);
    // Kills its evaluation thread the first time only (a marker file survives the thread).
    writeFileSync(path.join(s.dir, "crashy.mjs"), `import { existsSync, writeFileSync } from "node:fs";
const marker = new URL("./crashed", import.meta.url);
export default function score({ noise }) {
  if (!existsSync(marker)) {
    writeFileSync(marker, "");
    process.exit(3);
  }
  return noise[0];
}
`);
    const r = await runCli(["run", s.file, "--run-dir", s.runDir, "--threads", "2"], { cwd: s.dir });
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(s.runDir, "evaluations.csv");
    expect(rows).toHaveLength(20);
    expect(rows.every((x) => x.status === "ok")).toBe(true);
    // Both threads may crash before either writes the marker: one or two retried candidates.
    const retried = rows.filter((x) => x.attempts === "2").length;
    expect(retried).toBeGreaterThanOrEqual(1);
    expect(retried).toBeLessThanOrEqual(2);
  });
});
