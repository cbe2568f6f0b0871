import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { WORKER_ENTRY } from "../src/domain/worker-address.js";
import { runCli, sweepBin, sweepDir, tempDir } from "./cli.js";
import { manifestTypeErrors } from "./kubernetes-types.js";
import { repoRoot } from "./reference.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const runners = path.join(repoRoot, "runners");
const shellcheck = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;
/** Runs a shell script to its end: its exit code and stderr. */
function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

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

  describe("kubernetes/", () => {
    const manifests = ["volumes.yaml", "workers.yaml", "coordinator.yaml"];
    const docs = (name: string) => parseAllDocuments(readFileSync(path.join(runners, "kubernetes", name), "utf8")).map((d) => d.toJS());
    const [service, deployment] = docs("workers.yaml");
    const [job] = docs("coordinator.yaml");
    const [modelClaim, resultsClaim] = docs("volumes.yaml");
    const worker = deployment.spec.template.spec.containers[0];
    const coordinator = job.spec.template.spec.containers[0];
    const workerArgs: string[] = worker.args;
    const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];
    const script: string = coordinator.args[0];
    const runArgs = /exec node \/opt\/sweep\/bin\/sweep\.js (run .*)$/m.exec(script)![1].split(" ");
    const entry = flag(runArgs, "--workers");

    it("every manifest validates against the Kubernetes 1.30 API types, which refuse an unknown field, a wrong type and a missing field", () => {
      const all = manifests.flatMap((f) => docs(f).map((doc, i) => ({ name: `${f} document ${i + 1}`, doc })));
      expect(all.map((d) => d.doc.kind)).toEqual(["PersistentVolumeClaim", "PersistentVolumeClaim", "Service", "Deployment", "Job"]);
      const typo = structuredClone(deployment);
      typo.spec.template.spec.containers[0].readinessProbe.grcp = { port: 7070 };
      const wrongType = structuredClone(job);
      wrongType.spec.backoffLimit = "6";
      const missing = structuredClone(service);
      delete missing.metadata.name;
      missing.spec.ports[0] = { name: "grpc" };
      expect(manifestTypeErrors([...all,
        { name: "typo", doc: typo }, { name: "wrong type", doc: wrongType }, { name: "missing", doc: missing }])).toEqual([
        expect.stringMatching(/^typo: "grcp": .*'"grcp"' does not exist in type 'Probe'/),
        expect.stringMatching(/^wrong type: "backoffLimit": "6",: Type 'string' is not assignable to type 'number'/),
        expect.stringMatching(/^missing: .*Property 'port' is missing/),
      ]);
    });

    it("workers: gRPC probes on the port the headless service publishes, a grace period past the drain, the sweep's model preloaded, read-only models, the token from the secret", async () => {
      expect(service.spec.clusterIP).toBe("None");
      expect(service.spec.publishNotReadyAddresses).toBeUndefined();
      expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
      const port = service.spec.ports[0].port;
      expect(worker.ports).toEqual([{ name: "grpc", containerPort: port }]);
      expect(flag(workerArgs, "--listen")).toBe(`0.0.0.0:${port}`);
      // The health service's status, not just an open port: one handler per probe, gRPC.
      for (const probe of ["readinessProbe", "startupProbe", "livenessProbe"]) {
        expect(Object.keys(worker[probe]).filter((k) => ["exec", "httpGet", "tcpSocket", "grpc"].includes(k)), probe).toEqual(["grpc"]);
        expect(worker[probe].grpc, probe).toEqual({ port });
      }
      // Loading models must not be killed: liveness waits for the startup probe, which allows 10 minutes at least.
      expect(worker.startupProbe.periodSeconds * worker.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
      const drain = Number(flag(workerArgs, "--drain-timeout"));
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drain);
      expect(worker.livenessProbe.periodSeconds * worker.livenessProbe.failureThreshold).toBeGreaterThan(drain);
      expect(flag(runArgs, "--worker-wait")).toBe(String(worker.startupProbe.periodSeconds * worker.startupProbe.failureThreshold));
      // The model and precision of the sweep the Job runs (its ConfigMap is made from this file).
      const sweep = parse(readFileSync(path.join(repoRoot, "configs", "ses_vs_random.yaml"), "utf8"));
      expect(readFileSync(path.join(runners, "kubernetes", "coordinator.yaml"), "utf8")).toContain("--from-file=sweep.yaml=configs/ses_vs_random.yaml");
      expect(flag(workerArgs, "--preload")).toBe(sweep.evaluator.model);
      expect(flag(workerArgs, "--precision")).toBe(sweep.evaluator.precision);
      expect(worker.resources.limits["nvidia.com/gpu"]).toBe(String(flag(workerArgs, "--devices").split(",").length));
      const models = deployment.spec.template.spec.volumes.find((v: any) => v.name === "models");
      expect(models.persistentVolumeClaim).toEqual({ claimName: modelClaim.metadata.name, readOnly: true });
      expect(worker.volumeMounts).toEqual([{ name: "models", mountPath: flag(workerArgs, "--model-root"), readOnly: true }]);
      expect(worker.env).toEqual(coordinator.env.filter((e: any) => e.name === "SWEEP_TOKEN"));
      expect(worker.env[0].valueFrom.secretKeyRef).toEqual({ name: "sweep-token", key: "token" });
      // Every flag is one the CLI has.
      expect(workerArgs[0]).toBe("worker");
      const help = await runCli(["worker", "--help"]);
      for (const f of workerArgs.filter((a) => a.startsWith("--"))) expect(help.stdout, f).toMatch(new RegExp(`^\\s+${f}\\s`, "m"));
    });

    it("the coordinator's dns: entry names the workers' headless service, whose worker command starts", async () => {
      expect(entry).toMatch(WORKER_ENTRY);
      expect(entry).toBe(`dns:${service.metadata.name}:${service.spec.ports[0].port}`);
      // The same worker command, on loopback, a temporary model root and the CPU, starts and serves
      // (no model to preload here).
      const local = workerArgs.slice(1).map((a, i, all) => (all[i - 1] === "--listen" ? "127.0.0.1:0" : all[i - 1] === "--model-root" ? tempDir() : all[i - 1] === "--devices" ? "cpu" : a));
      local.splice(local.indexOf("--preload"), 4);
      expect(local).not.toContain("--precision");
      const started = await startWorkerProcess(local, { SWEEP_TOKEN: "t" });
      expect(started.address).toMatch(/^127\.0\.0\.1:\d+$/);
      await started.stop();
    });

    it("the coordinator Job starts its run in a fixed folder on its volume and, restarted after a crash, resumes that folder", async () => {
      expect(job.spec.template.spec.restartPolicy).toBe("OnFailure");
      expect(job.spec.backoffLimit).toBeGreaterThan(0);
      const runDir = coordinator.env.find((e: any) => e.name === "RUN_DIR").value as string;
      const mount = (name: string) => coordinator.volumeMounts.find((m: any) => m.name === name).mountPath as string;
      expect(path.dirname(runDir)).toBe(mount("results"));
      expect(job.spec.template.spec.volumes.find((v: any) => v.name === "results").persistentVolumeClaim.claimName).toBe(resultsClaim.metadata.name);
      expect(runArgs[1]).toBe(`${mount("config")}/sweep.yaml`);
      const help = await runCli(["run", "--help"]);
      for (const f of [...runArgs, "--resume", "--run-dir"].filter((a) => a.startsWith("--"))) expect(help.stdout, f).toMatch(new RegExp(`^\\s+${f}\\s`, "m"));

      // The Job's own script, with this checkout for /opt/sweep, a temporary config and results
      // volume, and a local worker for the service's name.
      const dir = sweepDir(`prompts: ["a", "b"]\nseeds: [0, 1]\nbudgets: [50]\nstrategies: [{ name: random }, { name: ses, popsize: 5, elites: 2 }]\nevaluator: { kind: synthetic, latency_ms: 20, shape: [1, 4, 16, 16] }\n`);
      const local = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"], { SWEEP_TOKEN: "t" });
      const localScript = script.replace("/opt/sweep/bin/sweep.js", sweepBin).replace(runArgs[1], path.join(dir, "sweep.yaml")).replace(entry, local.address);
      const env = { ...process.env, RUN_DIR: path.join(dir, "results", path.basename(runDir)), SWEEP_TOKEN: "t" };
      const csv = path.join(env.RUN_DIR, "evaluations.csv");
      const rows = () => (existsSync(csv) ? readFileSync(csv, "utf8").split("\n").length - 2 : 0);

      // First pod: killed (SIGKILL, as the out-of-memory killer or a lost node would) mid-sweep.
      const first = spawn("sh", ["-c", localScript], { env, stdio: "ignore" });
      try {
        await expect.poll(rows, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(40);
      } finally {
        first.kill("SIGKILL");
      }
      await new Promise((done) => first.once("close", done));
      const before = rows();
      expect(before).toBeLessThan(400);
      expect(readManifest(env.RUN_DIR).status).toBe("running");

      // Restarted: the same script finds the manifest and resumes.
      const second = await runScript(localScript, env);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/resuming: \d+ evaluations already recorded/);
      const manifest = readManifest(env.RUN_DIR);
      expect(manifest.status).toBe("completed");
      expect(manifest.resumes).toHaveLength(1);
      expect(scoresByKey(readCsv(env.RUN_DIR, "evaluations.csv")).size).toBe(2 * 2 * 2 * 50);
      await local.stop();
    });

    it.skipIf(!shellcheck)(`the Job's shell script passes shellcheck${shellcheck ? "" : " (skipped: shellcheck is not installed)"}`, () => {
      const file = path.join(tempDir(), "coordinator.sh");
      writeFileSync(file, `#!/bin/sh\n${script}`);
      const r = spawnSync("shellcheck", ["--shell=sh", file], { encoding: "utf8" });
      expect(r.status, r.stdout).toBe(0);
    });
  });
});
