import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { WORKER_ENTRY } from "../src/domain/worker-address.js";
import { sweepDir, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { readCsv, readManifest } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const runners = path.join(repoRoot, "runners");
const shellcheck = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;

describe("runners/", () => {
  it("local.sh starts a worker per device, runs the sweep on them all, and stops them", () => {
    const dir = sweepDir(`prompts: ["a", "b"]\nseeds: [0, 1]\nbudgets: [20]\nstrategies: [{ name: random }, { name: ses, popsize: 5, elites: 2 }]\nevaluator: { kind: synthetic, latency_ms: 5, shape: [1, 4, 16, 16] }\n`);
    const r = spawnSync("bash", [path.join(runners, "local.sh"), "sweep.yaml", "--run-dir", "run"], {
      cwd: dir, encoding: "utf8", env: { ...process.env, DEVICES: "cpu cpu", THREADS: "1", MODEL_ROOT: dir }, timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/runners\/local\.sh: 2 worker\(s\): 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+/);
    expect(readCsv(path.join(dir, "run"), "evaluations.csv")).toHaveLength(2 * 2 * 2 * 20);
    const workers = readManifest(path.join(dir, "run")).executor.workers as { completed: number }[];
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(w.completed).toBeGreaterThan(0);
    const commandLines = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    });
    expect(commandLines.filter((l) => l.includes(" worker ") && l.includes(dir))).toEqual([]);
  });

  it("the Slurm script is valid bash and passes only flags `sweep worker` and `sweep run` have", () => {
    const file = path.join(runners, "slurm", "sweep.sbatch");
    expect(spawnSync("bash", ["-n", file]).status).toBe(0);
    const lines = readFileSync(file, "utf8").split("\n");
    // The command lines and the argument arrays the recipe builds for each command.
    const uses = { worker: /bin\/sweep\.js worker|\bworker\+?=\(/, run: /bin\/sweep\.js run|\brun=\(/ };
    for (const [command, use] of Object.entries(uses)) {
      const flags = lines.filter((l) => use.test(l)).flatMap((l) => l.match(/(?<=\s|\()--[a-z][a-z-]*/g) ?? []);
      expect(flags.length, command).toBeGreaterThan(0);
      const help = spawnSync(process.execPath, [path.join(repoRoot, "bin", "sweep.js"), command, "--help"], { encoding: "utf8" }).stdout;
      for (const flag of flags) expect(help, `sweep ${command} ${flag}`).toMatch(new RegExp(`^\\s+${flag}\\s`, "m"));
    }
  });

  it.skipIf(!shellcheck)(`the recipes pass shellcheck${shellcheck ? "" : " (skipped: shellcheck is not installed; .ci/run installs it)"}`, () => {
    const scripts = [...readdirSync(runners).filter((f) => f.endsWith(".sh")), ...readdirSync(path.join(runners, "slurm")).filter((f) => f.endsWith(".sbatch")).map((f) => path.join("slurm", f))];
    expect(scripts).toContain(path.join("slurm", "sweep.sbatch"));
    const r = spawnSync("shellcheck", ["--shell=bash", ...scripts], { cwd: runners, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("the Kubernetes manifests agree: the coordinator's dns: entry names the workers' headless service, whose worker command starts", async () => {
    const docs = (name: string) => parseAllDocuments(readFileSync(path.join(runners, "kubernetes", name), "utf8")).map((d) => d.toJS());
    const [service, deployment] = docs("workers.yaml");
    const [job] = docs("coordinator.yaml");
    expect(service.kind).toBe("Service");
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    const entry = /--workers (\S+)/.exec(job.spec.template.spec.containers[0].args[0])![1];
    expect(entry).toMatch(WORKER_ENTRY);
    expect(entry).toBe(`dns:${service.metadata.name}:${service.spec.ports[0].port}`);
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    expect(args[args.indexOf("--listen") + 1]).toBe(`0.0.0.0:${service.spec.ports[0].port}`);
    // The same worker command, on loopback, a temporary model root and the CPU, starts and serves.
    const local = args.slice(1).map((a, i, all) => (all[i - 1] === "--listen" ? "127.0.0.1:0" : all[i - 1] === "--model-root" ? tempDir() : all[i - 1] === "--devices" ? "cpu" : a));
    const worker = await startWorkerProcess(local, { SWEEP_TOKEN: "t" });
    expect(worker.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await worker.stop();
  });
});
