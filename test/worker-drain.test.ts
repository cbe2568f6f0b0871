/**
 * A worker's readiness and drain with real processes (docs/protocol.md, "Health, readiness and
 * draining"): health across preload, warm-up and drain without the token; a worker SIGTERMed
 * mid-sweep drains and the sweep loses nothing; the drain deadline fails back a slow candidate; a
 * second signal does not wait.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, describe, expect, it } from "vitest";
import { importTinyFlux2, runCli, sweepBin, sweepDir, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(["sweep/v1/worker.proto", "grpc/health/v1/health.proto"], {
  includeDirs: [path.join(repoRoot, "proto")], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
})) as any;
const insecure = grpc.credentials.createInsecure();

const exitOf = (child: ChildProcess) => new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
  child.once("exit", (code, signal) => resolve({ code, signal }));
});

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An Evaluate stream of a client built from proto/ alone: what it was answered, and its end (the error it ended with, if any). */
function evaluateStream(address: string, md = new grpc.Metadata()) {
  const client = new pkg.sweep.v1.Worker(address, insecure);
  const call = client.Evaluate(md);
  const answers: any[] = [];
  call.on("data", (r: any) => answers.push(r));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on("end", () => resolve(undefined));
    call.on("error", resolve);
  }).finally(() => client.close());
  return { call, answers, ended };
}

const request = (evaluator: object, ids: number[]) => ({
  evaluator: { shape: [1, 4, 8, 8], ...evaluator }, prompt: "p", prompt_index: 0, timeout_ms: 120_000,
  candidates: ids.map((id) => ({ id, random: { seed: id } })),
});

/** A scoring module that takes a minute: still running at any drain deadline of these tests. */
function slowModuleRoot(): string {
  const root = tempDir();
  writeFileSync(path.join(root, "slow.mjs"), "export default async function score() {\n  await new Promise((r) => setTimeout(r, 60_000));\n  return 0;\n}\n");
  return root;
}

/** A worker holding one slow candidate (its stream's later fast candidate answered, so the slow one is in hand). */
async function holdingSlowCandidate(drainTimeout: string) {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2", "--model-root", slowModuleRoot(), "--drain-timeout", drainTimeout]);
  const stream = evaluateStream(w.address);
  stream.call.write(request({ kind: "module", module_path: "slow.mjs" }, [1]));
  stream.call.write(request({ kind: "synthetic" }, [0]));
  await until("the fast candidate's answer", () => stream.answers.length === 1);
  return { w, stream };
}

describe("worker health and readiness", () => {
  it("says NOT_SERVING while --preload models load, SERVING once warm, NOT_SERVING while draining, without the token; Evaluate without it is refused", async () => {
    const models = tempDir();
    await importTinyFlux2(path.join(models, "tiny"));
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models, "--preload", "tiny"], { SWEEP_TOKEN: "s3cret" });
    const health = new pkg.grpc.health.v1.Health(w.address, insecure);
    try {
      const seen: string[] = [];
      const watch = health.Watch({ service: "" });
      watch.on("data", (r: { status: string }) => seen.push(r.status));
      watch.on("error", () => {}); // cancelled below
      await until("SERVING", () => seen.includes("SERVING"), 60_000);
      expect(w.stderr()).toMatch(/listening on 127\.0\.0\.1:\d+ \(.*; token required; loading models: tiny\)/);
      expect(w.stderr()).toMatch(/ready: tiny loaded and warmed \(health SERVING\)/);
      const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status))));
      expect(await check("sweep.v1.Worker")).toBe("SERVING");

      const unauthenticated = evaluateStream(w.address);
      unauthenticated.call.write(request({ kind: "synthetic" }, [1]));
      expect(await unauthenticated.ended).toMatchObject({ code: grpc.status.UNAUTHENTICATED });

      const exited = exitOf(w.child);
      w.child.kill("SIGTERM");
      await until("NOT_SERVING after SIGTERM", () => seen.length === 3);
      watch.cancel();
      expect(seen).toEqual(["NOT_SERVING", "SERVING", "NOT_SERVING"]);
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(w.stderr()).toMatch(/draining: 0 in flight.*\n.*drained in \d+\.\d s/);
    } finally {
      health.close();
      await w.stop();
    }
  }, 90_000);
});

describe("a draining worker", () => {
  it("fails back what still runs at --drain-timeout as draining, answers what arrives meanwhile as draining at once, and exits 0", async () => {
    const { w, stream } = await holdingSlowCandidate("1");
    try {
      const exited = exitOf(w.child);
      const signalled = Date.now();
      w.child.kill("SIGTERM");
      await until("the drain", () => w.stderr().includes("draining:"));
      stream.call.write(request({ kind: "module", module_path: "slow.mjs" }, [2]));
      expect(await stream.ended).toBeUndefined();
      const draining = { ok: false, error: "worker draining", draining: true };
      expect(stream.answers).toEqual([
        expect.objectContaining({ candidate_id: 0, ok: true, draining: false }),
        expect.objectContaining({ candidate_id: 2, ...draining }),
        expect.objectContaining({ candidate_id: 1, ...draining }),
      ]);
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(1000);
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(w.stderr()).toMatch(/draining: 1 in flight/);
      expect(w.stderr()).toMatch(/drain timeout: 1 failed back as draining after 1\.\d s/);
    } finally {
      await w.stop();
    }
  }, 60_000);

  it("exits at once on a second signal", async () => {
    const { w, stream } = await holdingSlowCandidate("60");
    try {
      const exited = exitOf(w.child);
      const signalled = Date.now();
      w.child.kill("SIGTERM");
      await until("the drain", () => w.stderr().includes("draining:"));
      w.child.kill("SIGINT");
      expect(await exited).toEqual({ code: 130, signal: null });
      // gone without answering the slow candidate
      expect(await stream.ended).toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(stream.answers).toHaveLength(1);
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(w.stderr()).toMatch(/SIGINT again: exiting at once/);
    } finally {
      await w.stop();
    }
  }, 60_000);
});

const sweepYaml = `name: drain
prompts: ["a cat", "a lighthouse at dawn"]
seeds: [0, 1, 2]
budgets: [5, 40]
strategies:
  - name: random
  - name: ses
    popsize: 5
    elites: 2
    level: 3
evaluator:
  kind: synthetic
  shape: [1, 8, 32, 32]
  latency_ms: 30
`;

/** `sweep run` of sweepYaml in a new folder over `workers`, as a process: its rows as they are written, its end. */
function startRun(workers: string) {
  const dir = sweepDir(sweepYaml);
  const runDir = path.join(dir, "run");
  const child = spawn(process.execPath, [sweepBin, "run", "sweep.yaml", "--run-dir", "run", "--workers", workers, "--worker-wait", "60"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on("close", resolve));
  const csv = path.join(runDir, "evaluations.csv");
  const rows = () => (existsSync(csv) ? readFileSync(csv, "utf8").split("\n").length - 2 : 0);
  return { child, runDir, done, stderr: () => stderr, rows };
}

/**
 * The run's rows: every one ok at its first attempt, no key twice (scoresByKey throws), the scores
 * of `reference` (a run of the same sweep with latency_ms 0: the scores do not depend on it).
 */
function expectSameAs(runDir: string, referenceDir: string): void {
  const rows = readCsv(runDir, "evaluations.csv");
  expect(rows.filter((r) => r.status !== "ok" || r.attempts !== "1")).toEqual([]);
  expect([...scoresByKey(rows)].sort()).toEqual([...scoresByKey(readCsv(referenceDir, "evaluations.csv"))].sort());
  expect(readManifest(runDir).status).toBe("completed");
}

describe("a sweep whose worker drains", () => {
  it("moves what the worker fails back to the other worker without counting an attempt: the CSV equals a one-worker run's", async () => {
    const reference = sweepDir(sweepYaml);
    const refRun = runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2", "--set", "evaluator.latency_ms=0"], { cwd: reference });
    const [a, b] = await Promise.all([0, 1].map(() => startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2", "--drain-timeout", "10"])));
    const run = startRun(`${a.address},${b.address}`);
    try {
      await until("40 rows", () => run.rows() >= 40, 60_000);
      const exited = exitOf(a.child);
      const signalled = Date.now();
      a.child.kill("SIGTERM");
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(10_000);
      expect(await run.done, run.stderr()).toBe(0);
      expect(run.stderr()).toContain(`worker ${a.address} is draining: no more work goes to it`);
      expect(a.stderr()).toMatch(/draining: \d+ in flight/);
      expect(a.stderr()).toMatch(/drained in \d+\.\d s/);
      const ref = await refRun;
      expect(ref.code, ref.stderr).toBe(0);
      expectSameAs(run.runDir, path.join(reference, "run"));
    } finally {
      run.child.kill("SIGKILL");
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it("waits when its only worker drains, and finishes on a worker started at the same address", async () => {
    const reference = sweepDir(sweepYaml);
    const refRun = runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2", "--set", "evaluator.latency_ms=0"], { cwd: reference });
    const first = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]);
    const run = startRun(first.address);
    let second: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
    try {
      await until("40 rows", () => run.rows() >= 40, 60_000);
      const exited = exitOf(first.child);
      first.child.kill("SIGTERM");
      expect(await exited).toEqual({ code: 0, signal: null });
      await until("the sweep to wait", () => run.stderr().includes("no worker is up, the sweep waits for one"));
      const waitingAt = run.rows();
      await new Promise((r) => setTimeout(r, 500));
      expect(run.rows()).toBe(waitingAt);
      second = await startWorkerProcess(["--listen", first.address, "--threads", "2"]);
      expect(await run.done, run.stderr()).toBe(0);
      const ref = await refRun;
      expect(ref.code, ref.stderr).toBe(0);
      expectSameAs(run.runDir, path.join(reference, "run"));
    } finally {
      run.child.kill("SIGKILL");
      await Promise.all([first.stop(), second?.stop()]);
    }
  }, 120_000);
});
