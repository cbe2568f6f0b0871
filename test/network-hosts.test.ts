// A coordinator host and three worker hosts, each a network namespace with its own address and
// /etc/hosts (test/netns.ts), token authentication on. One sweep finds the workers through a
// workers file while one host's cable is pulled and plugged back in and another host's worker is
// sent SIGTERM; another finds them through a dns: name. Both must end with a single host's scores.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepBin, sweepDir } from "./cli.js";
import { makeNetwork, netnsUnavailable, type Network } from "./netns.js";
import { readCsv, readManifest, scoresByKey, type Row } from "./run-results.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

const TOKEN = "netns-token";
const PORT = 7070;
const ADDRESSES = { coordinator: "10.77.0.10", host1: "10.77.0.11", host2: "10.77.0.12", host3: "10.77.0.13" };
const WORKER_HOSTS = ["host1", "host2", "host3"] as const;
const HOSTS_FILE = `127.0.0.1 localhost
${ADDRESSES.coordinator} coordinator
${WORKER_HOSTS.map((h) => `${ADDRESSES[h]} ${h} workers`).join("\n")}
`;
const DRAIN_TIMEOUT_S = 10;

// 720 evaluations of 100 ms on 3 workers of 2 slots: about 12 s undisturbed, 20 s with the disruptions.
const SWEEP_YAML = `name: hosts
prompts: ["a cat", "a lighthouse at dawn"]
seeds: [0, 1, 2]
budgets: [60]
strategies:
  - name: random
  - name: ses
    popsize: 6
    elites: 2
    level: 3
evaluator:
  kind: synthetic
  shape: [1, 8, 32, 32]
  latency_ms: 100
`;
const EVALUATIONS = 2 * 3 * 60 * 2;

const unavailable = netnsUnavailable();
let net: Network | undefined;
const sweeps: ChildProcess[] = [];
let reference: Promise<{ code: number | null; stderr: string; runDir: string }>;
/** This build's worker drains on SIGTERM (the drain contract); before it, it closes at once. */
let drains = false;

function setup() {
  const dir = sweepDir(SWEEP_YAML);
  return { dir, file: path.join(dir, "sweep.yaml"), runDir: path.join(dir, "run"), csv: path.join(dir, "run", "evaluations.csv") };
}

/** Polls until `done` holds; fails saying what it waited for, and `detail()`, after `ms`. */
async function waitFor(what: string, done: () => boolean, detail: () => string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const csvSoFar = (csv: string) => (existsSync(csv) ? readFileSync(csv, "utf8") : "");
const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

function startWorker(name: string): Promise<WorkerProcess> {
  const host = net!.hosts[name];
  const drain = drains ? ["--drain-timeout", String(DRAIN_TIMEOUT_S)] : [];
  return startWorkerProcess(["--listen", `${host.address}:${PORT}`, "--token", TOKEN, "--threads", "2", ...drain], {}, host.exec);
}

/** `sweep run` of `s` (on a host where `exec` says, else here), tracked so that cleanup can kill it. */
function startSweep(exec: string[], s: ReturnType<typeof setup>, flags: string[]) {
  const [command, ...rest] = [...exec, process.execPath, sweepBin, "run", s.file, "--run-dir", s.runDir, "--log-every", "1", ...flags];
  const child = spawn(command, rest, { cwd: s.dir, stdio: ["ignore", "ignore", "pipe"] });
  sweeps.push(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { stderr: () => stderr, exit };
}

/** The run has every evaluation once, all ok at the first attempt, with the single-host run's scores. */
async function expectSingleHostScores(rows: Row[]): Promise<void> {
  const ref = await reference;
  expect(ref.code, ref.stderr).toBe(0);
  expect(rows.length).toBe(EVALUATIONS);
  expect(rows.filter((r) => r.status !== "ok" || r.attempts !== "1")).toEqual([]);
  // scoresByKey throws on a key seen twice.
  expect([...scoresByKey(rows)].sort()).toEqual([...scoresByKey(readCsv(ref.runDir, "evaluations.csv"))].sort());
}

const workerOf = (r: Row) => r.worker.split("/")[0];
const finishedAt = (r: Row) => Date.parse(r.finished_at);
/** Times the run lost this worker with candidates in flight (the manifest's count). */
const lostCount = (runDir: string, address: string) =>
  (readManifest(runDir).executor.workers as { address: string; lost: number }[]).find((w) => w.address === address)!.lost;

function stopAll(): void {
  for (const c of sweeps) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  killAllWorkers();
  // Whatever is still inside a host (a grandchild, a process that escaped the lists above) dies here.
  net?.destroy();
}

// A skipped test's note is what the default reporter prints of why.
if (unavailable !== null) it("hosts with their own network (network namespaces)", (ctx) => ctx.skip(unavailable));

describe.skipIf(unavailable !== null)("hosts with their own network (network namespaces)", () => {
  beforeAll(async () => {
    drains = (await runCli(["worker", "--help"])).stdout.includes("--drain-timeout");
    net = makeNetwork(ADDRESSES, HOSTS_FILE);
    // One host, one local worker: the scores every distributed run must match. Runs alongside.
    const s = setup();
    const run = startSweep([], s, ["--threads", "8"]);
    reference = run.exit.then((code) => ({ code, stderr: run.stderr(), runDir: s.runDir }));
  });
  afterAll(stopAll);

  describe("workers file; host1's link cut and restored, host2's worker sent SIGTERM", () => {
    let code: number | null;
    let stderr: string;
    let rows: Row[];
    let runDir: string;
    let cutAt: number;
    let restoredAt: number;
    let termAt: number;
    let host2Exit: Promise<{ code: number | null; at: number }>;
    let workers: WorkerProcess[];

    beforeAll(async () => {
      workers = await Promise.all(WORKER_HOSTS.map(startWorker));
      const s = setup();
      const list = path.join(s.dir, "workers.txt");
      writeFileSync(list, WORKER_HOSTS.map((h) => `${h}:${PORT}\n`).join(""));
      const run = startSweep(net!.hosts.coordinator.exec, s, ["--workers-file", list, "--token", TOKEN]);
      const log = () => run.stderr();
      const csv = () => csvSoFar(s.csv);
      await waitFor("evaluations from all three hosts", () => WORKER_HOSTS.every((h) => csv().includes(`,${h}:${PORT}/`)), log);
      net!.setLink("host1", false);
      cutAt = Date.now();
      // The coordinator's keepalive pings (2 s, then 3 s unanswered) find the cable pulled.
      await waitFor("host1 found lost", () => new RegExp(`worker host1:${PORT} (lost|unavailable)`).test(log()), log);
      net!.setLink("host1", true);
      restoredAt = Date.now();
      await waitFor("host1 up again", () => occurrences(log(), `worker host1:${PORT} up`) >= 2, log);
      const host2 = workers[1].child;
      host2Exit = new Promise((resolve) => host2.once("exit", (c) => resolve({ code: c, at: Date.now() })));
      host2.kill("SIGTERM");
      termAt = Date.now();
      code = await run.exit;
      stderr = log();
      rows = readCsv(s.runDir, "evaluations.csv");
      runDir = s.runDir;
    });
    // Frees their port for the next sweep's workers.
    afterAll(() => Promise.all((workers ?? []).map((w) => w.stop())));

    it("completes with a single host's scores: every key once, no error rows, no retries", async () => {
      expect(code, stderr).toBe(0);
      await expectSingleHostScores(rows);
    });

    it("cut host1 off with work in flight, and gave it work again once its link was back", () => {
      const host1 = rows.filter((r) => workerOf(r) === `host1:${PORT}`);
      expect(host1.filter((r) => finishedAt(r) < cutAt).length).toBeGreaterThan(0);
      expect(host1.filter((r) => finishedAt(r) > restoredAt).length).toBeGreaterThan(0);
      expect(lostCount(runDir, `host1:${PORT}`)).toBeGreaterThanOrEqual(1);
    });

    it("host2's worker exits 0 on SIGTERM, within the drain timeout, and the others finish the sweep", async () => {
      const exit = await host2Exit;
      expect(exit.code, workers[1].stderr()).toBe(0);
      expect(exit.at - termAt).toBeLessThan((DRAIN_TIMEOUT_S + 2) * 1000);
      expect(rows.filter((r) => finishedAt(r) > exit.at && workerOf(r) !== `host2:${PORT}`).length).toBeGreaterThan(0);
    });

    it("host2 drains: it finishes what it holds and has nothing taken off it", (ctx) => {
      if (!drains) ctx.skip("this build's `sweep worker` has no --drain-timeout: it closes at once on SIGTERM");
      expect(rows.filter((r) => workerOf(r) === `host2:${PORT}` && finishedAt(r) > termAt).length).toBeGreaterThan(0);
      expect(lostCount(runDir, `host2:${PORT}`)).toBe(0);
    });
  });

  describe("dns:workers:7070, resolved through the coordinator host's /etc/hosts", () => {
    it("finds all three hosts and ends with a single host's scores", async () => {
      const workers = await Promise.all(WORKER_HOSTS.map(startWorker));
      const s = setup();
      // Nothing happens mid-sweep here: shorter evaluations (the latency does not enter the score).
      const run = startSweep(net!.hosts.coordinator.exec, s, ["--workers", `dns:workers:${PORT}`, "--token", TOKEN, "--set", "evaluator.latency_ms=20"]);
      const code = await run.exit;
      expect(code, run.stderr()).toBe(0);
      expect(run.stderr()).not.toMatch(/cannot resolve/);
      const rows = readCsv(s.runDir, "evaluations.csv");
      expect(new Set(rows.map(workerOf))).toEqual(new Set(WORKER_HOSTS.map((h) => `${ADDRESSES[h]}:${PORT}`)));
      await expectSingleHostScores(rows);
      await Promise.all(workers.map((w) => w.stop()));
    });
  });
});
