import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WorkerDiscovery } from "../src/coordinator/workers/worker-discovery.js";
import { runCli, sweepDir } from "./cli.js";
import { readCsv, readManifest } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

describe("workers from a DNS name", () => {
  it("follows what the name resolves to: new addresses join, vanished ones leave, a failed lookup keeps the last", async () => {
    const answers: (string[] | Error)[] = [["10.0.0.2", "10.0.0.1"], ["10.0.0.2", "fd00::3"], new Error("ENOTFOUND"), [], ["fd00::3"]];
    const events: string[] = [];
    const discovery = new WorkerDiscovery({
      onChange: (added, removed) => events.push(`+${added.join(",")} -${removed.join(",")}`),
      log: (line) => events.push(line),
    }, async (name) => {
      expect(name).toBe("workers.sweep.svc");
      const a = answers.shift()!;
      if (a instanceof Error) throw a;
      return a;
    });
    await discovery.setEntries(["dns:workers.sweep.svc:7070", "10.9.9.9:7071"]);
    for (let i = 0; i < 4; i++) await discovery.refresh();
    expect(events).toEqual([
      "+10.0.0.1:7070,10.0.0.2:7070,10.9.9.9:7071 -",
      "+[fd00::3]:7070 -10.0.0.1:7070",
      "cannot resolve dns:workers.sweep.svc:7070 (ENOTFOUND); keeping 10.0.0.2:7070, [fd00::3]:7070",
      "dns:workers.sweep.svc:7070 resolves again: [fd00::3]:7070",
      "+ -10.0.0.2:7070",
    ]);
  });

  it("runs a sweep on the workers a real name resolves to (dns:localhost:PORT)", async () => {
    const worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]);
    const dir = sweepDir(`prompts: ["a"]\nseeds: [0, 1]\nbudgets: [10]\nstrategies: [{ name: random }]\nevaluator: { kind: synthetic, shape: [1, 4, 8, 8] }\n`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", `dns:localhost:${worker.port}`], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readCsv(path.join(dir, "run"), "evaluations.csv")).toHaveLength(20);
    const used = readManifest(path.join(dir, "run")).executor.workers.filter((w: { completed: number }) => w.completed > 0);
    expect(used.map((w: { address: string }) => w.address)).toEqual([`127.0.0.1:${worker.port}`]);
    await worker.stop();
  });

  it("refuses a worker entry that is not HOST:PORT or dns:NAME:PORT, naming where it is", async () => {
    const dir = sweepDir(`prompts: ["a"]\nseeds: [0]\nbudgets: [4]\nstrategies: [{ name: random }]\nevaluator: { kind: noop }\n`);
    writeFileSync(path.join(dir, "workers.txt"), "# pool\n127.0.0.1:7070\nhost-without-port\n");
    const fromFlag = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", "127.0.0.1:7070,dns:name"], { cwd: dir });
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain("--workers: 'dns:name' is not a worker; expected HOST:PORT or dns:NAME:PORT");
    const fromFile = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers-file", "workers.txt"], { cwd: dir });
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain("workers.txt:3: 'host-without-port' is not a worker");
    expect(existsSync(path.join(dir, "run"))).toBe(false);
  });
});
