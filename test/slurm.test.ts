/**
 * runners/slurm/sweep.sbatch on a real (one-node, CPU) Slurm cluster: submitted with sbatch as a
 * user would, run to completion, and stopped mid-sweep the ways a job is preempted (a signal to
 * every process or to the batch shell alone, after which the job requeues itself; Slurm's own
 * requeue); every time the requeued job resumes its run folder and ends with a local run's CSV.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { freePort, slurmUnavailable, startSlurm, type SlurmCluster } from "./slurm/cluster.js";

const unavailable = slurmUnavailable();
const recipe = path.join(repoRoot, "runners", "slurm", "sweep.sbatch");
// 160 evaluations of 100 ms on 2 slots (the job's 2 CPUs): 8 s, longer than the recipe's 5 s wait
// before it forwards a signal that came to the batch shell alone.
const SWEEP = `prompts: ["a", "b"]
seeds: [0, 1]
budgets: [20]
strategies: [{ name: random }, { name: ses, popsize: 5, elites: 2 }]
evaluator: { kind: synthetic, latency_ms: 100, shape: [1, 4, 16, 16] }
`;
// The same sweep, 4 s: for the jobs that wait for no forwarded signal (the latency changes no score).
const QUICK = SWEEP.replace("latency_ms: 100", "latency_ms: 50");

describe.skipIf(unavailable)(`runners/slurm/sweep.sbatch on a one-node Slurm cluster${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let cluster: SlurmCluster;
  let dir: string;
  let local: Map<string, string>;

  beforeAll(async () => {
    dir = sweepDir(SWEEP);
    writeFileSync(path.join(dir, "quick.yaml"), QUICK);
    const reference = path.join(dir, "local");
    // the scores do not depend on the latency, which only makes the jobs last long enough to stop
    const [started, run] = await Promise.all([startSlurm(), runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", reference, "--threads", "2", "--set", "evaluator.latency_ms=0"])]);
    cluster = started;
    expect(run.code, run.stderr).toBe(0);
    local = scoresByKey(readCsv(reference, "evaluations.csv"));
    expect(local.size).toBe(160);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** Submits the recipe with `config` on this CPU node, as the README says; returns the job id and its run folder. */
  async function submit(name: string, config: "sweep.yaml" | "quick.yaml"): Promise<{ id: string; runDir: string; output: string }> {
    const runDir = path.join(dir, name);
    const output = path.join(dir, `${name}.out`);
    const id = cluster.run("sbatch", ["--parsable", "--nodes=1", "--cpus-per-task=2", `--output=${output}`, recipe, path.join(dir, config)], {
      SWEEP_DEVICES: "cpu", SWEEP_PORT: String(await freePort()), SWEEP_RUN_DIR: runDir, MODEL_ROOT: dir,
    }).trim();
    expect(id).toMatch(/^\d+$/);
    return { id, runDir, output };
  }

  const job = (id: string) => cluster.run("scontrol", ["show", "job", id]);

  async function waitFor(what: string, check: () => boolean, output: string, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${readFileSync(output, "utf8")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const rowsIn = (runDir: string) => {
    try {
      return readCsv(runDir, "evaluations.csv").length;
    } catch {
      return 0;
    }
  };

  async function finished(id: string, output: string): Promise<string> {
    await waitFor(`job ${id} to end`, () => /JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT)/.test(job(id)), output);
    return job(id);
  }

  it("runs to completion with the same evaluations as a local run, and stops its workers cleanly", async () => {
    const { id, runDir, output } = await submit("plain", "quick.yaml");
    const state = await finished(id, output);
    const log = readFileSync(output, "utf8");
    expect(state, log).toMatch(/JobState=COMPLETED .*\n.*Restarts=0 .*ExitCode=0:0/);
    expect(log).toContain(`start 1: --run-dir ${runDir}`);
    // Workers end on the TERM sent to their step, not by srun's SIGKILL.
    expect(log).not.toMatch(/srun: (error|forcing job termination)/);
    expect(scoresByKey(readCsv(runDir, "evaluations.csv"))).toEqual(local);
    expect(readManifest(runDir).status).toBe("completed");
  });

  // Only a signal to the batch shell alone needs the sweep to outlast the recipe's 5 s wait.
  const preemptions: { how: string; name: string; preempt: (id: string) => void; requeuesItself: boolean; config: "sweep.yaml" | "quick.yaml" }[] = [
    { how: "the preemption signal to every process (scancel --signal=TERM --full)", name: "full", requeuesItself: true, config: "quick.yaml", preempt: (id) => cluster.run("scancel", ["--signal=TERM", "--full", id]) },
    { how: "a signal to the batch shell alone (scancel --batch --signal=TERM), which it forwards", name: "batch", requeuesItself: true, config: "sweep.yaml", preempt: (id) => cluster.run("scancel", ["--batch", "--signal=TERM", id]) },
    { how: "Slurm's own requeue (scontrol requeue, as preemption does)", name: "requeue", requeuesItself: false, config: "quick.yaml", preempt: (id) => cluster.run("scontrol", ["requeue", id]) },
  ];
  for (const { how, name, preempt, requeuesItself, config } of preemptions) {
    it(`stopped mid-sweep by ${how}: requeued, resumes the same run folder to the same CSV`, async () => {
      const { id, runDir, output } = await submit(name, config);
      await waitFor("the first evaluations", () => rowsIn(runDir) >= 20, output);
      preempt(id);
      const state = await finished(id, output);
      const log = readFileSync(output, "utf8");
      expect(state, log).toMatch(/JobState=COMPLETED .*\n.*Restarts=1 .*ExitCode=0:0/);
      // The first start stopped resumable, partway; the second (SLURM_RESTART_COUNT=1) resumed the same folder.
      const recorded = Number(/Run interrupted; (\d+) evaluations recorded/.exec(log)?.[1]);
      expect(recorded, log).toBeGreaterThanOrEqual(20);
      expect(recorded).toBeLessThan(160);
      expect(log).toContain(`start 1: --run-dir ${runDir}`);
      expect(log.includes(`interrupted, requeueing job ${id}`), log).toBe(requeuesItself);
      expect(log).toContain(`start 2: --resume ${runDir}`);
      expect(log).toContain(`resuming: ${recorded} evaluations already recorded, ${160 - recorded} to go`);
      // Told by the batch shell alone, the recipe stops the workers with a TERM to their step.
      if (name === "batch") expect(log).not.toMatch(/srun: (error|forcing job termination)/);
      expect(scoresByKey(readCsv(runDir, "evaluations.csv"))).toEqual(local);
      const manifest = readManifest(runDir);
      expect(manifest.status).toBe("completed");
      expect(manifest.resumes).toEqual([expect.objectContaining({ recorded_before: recorded })]);
    });
  }
});
