/**
 * A one-node Slurm cluster for a test: munged, slurmctld and slurmd started as root from Debian's
 * packages, everything (config, key, sockets, state, logs) in one temporary folder, stopped and
 * removed by `stop()`. No cgroups (a container has no systemd): processes are tracked by parent
 * pid, and every process the cluster started carries SLURM_CONF=<its config> in its environment,
 * which is how stop() finds any that outlive their daemon.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, hostname, tmpdir } from "node:os";
import path from "node:path";

const DAEMONS = ["munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol", "squeue", "scancel", "sinfo"];

/** Why this machine cannot run the cluster (not root, a program missing), or undefined if it can. */
export function slurmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: slurmd and munged must run as root";
  const missing = DAEMONS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  return missing.length ? `missing ${missing.join(", ")} (apt-get install slurm-wlm munge; .ci/run does)` : undefined;
}

export interface SlurmCluster {
  /** The folder holding everything; jobs may write under it. */
  dir: string;
  /** Environment for Slurm's client commands (sbatch, squeue, ...), and through sbatch for the jobs. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client command; throws with its stderr when it fails. */
  run(command: string, args: string[], env?: NodeJS.ProcessEnv): string;
  /** Cancels the jobs, stops the daemons and whatever they left, removes the folder. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** slurm.conf for this host: one node with all its CPUs, one partition, no cgroups, no accounting. */
function slurmConf(dir: string, node: string, ports: [number, number]): string {
  return `ClusterName=sweeptest
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=${dir}/munge/munge.socket,cred_expire=5
StateSaveLocation=${dir}/slurmctld
SlurmdSpoolDir=${dir}/slurmd
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
KillWait=10
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${availableParallelism()} State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`;
}

/** Pids of live processes whose environment holds `marker` (a KEY=value line). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, "utf8").split("\0").includes(marker)) pids.push(Number(p));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function until(what: string, check: () => boolean, timeoutMs: number, detail: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), "sweep-slurm-"));
  // munged refuses a socket folder others cannot reach, and a key others can read.
  chmodSync(dir, 0o755);
  for (const d of ["munge", "slurmctld", "slurmd"]) mkdirSync(path.join(dir, d), { mode: 0o755 });
  writeFileSync(path.join(dir, "munge", "munge.key"), randomBytes(1024), { mode: 0o400 });
  const conf = path.join(dir, "slurm.conf");
  const node = hostname().split(".")[0];
  writeFileSync(conf, slurmConf(dir, node, [await freePort(), await freePort()]));
  const marker = `SLURM_CONF=${conf}`;
  const env = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const log = (name: string) => {
    const file = path.join(dir, name);
    return existsSync(file) ? `--- ${name}\n${readFileSync(file, "utf8").split("\n").slice(-15).join("\n")}` : `--- ${name}: none`;
  };
  const logs = () => ["munge/munged.log", "slurmctld.log", "slurmd.log", "daemons.out"].map(log).join("\n");
  // Foreground daemons: their exit is seen at once, and the test holds their pids.
  const daemon = (cmd: string, args: string[]) => {
    const out = openSync(path.join(dir, "daemons.out"), "a");
    const child = spawn(cmd, args, { env, stdio: ["ignore", out, out] });
    closeSync(out);
    child.on("error", () => undefined);
    children.push(child);
    return child;
  };

  const cluster: SlurmCluster = {
    dir,
    env,
    run(command, args, extra = {}) {
      const r = spawnSync(command, args, { env: { ...env, ...extra }, encoding: "utf8", timeout: 30_000 });
      if (r.status !== 0) throw new Error(`${command} ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      const jobs = spawnSync("squeue", ["-h", "-o", "%i"], { env, encoding: "utf8", timeout: 10_000 }).stdout?.trim();
      if (jobs) {
        spawnSync("scancel", jobs.split(/\s+/), { env, timeout: 10_000 });
        const end = Date.now() + 15_000;
        while (Date.now() < end && spawnSync("squeue", ["-h"], { env, encoding: "utf8", timeout: 10_000 }).stdout?.trim()) {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      for (const child of children.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        child.kill("SIGKILL");
      }
      // Job steps (slurmstepd and what it runs) outlive slurmd; the environment marks them.
      for (const pid of processesWith(marker)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };

  try {
    const munge = path.join(dir, "munge");
    daemon("munged", ["--foreground", "--force", `--socket=${munge}/munge.socket`, `--key-file=${munge}/munge.key`,
      `--log-file=${munge}/munged.log`, `--pid-file=${munge}/munged.pid`, `--seed-file=${munge}/munged.seed`]);
    await until("munged's socket", () => existsSync(`${munge}/munge.socket`), 10_000, logs);
    daemon("slurmctld", ["-D", "-f", conf]);
    daemon("slurmd", ["-D", "-f", conf]);
    const state = () => spawnSync("sinfo", ["-h", "-N", "-o", "%t"], { env, encoding: "utf8", timeout: 10_000 }).stdout?.trim();
    await until(`node ${node} idle in sinfo`, () => {
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`${dead.spawnfile} exited with ${dead.exitCode}\n${logs()}`);
      return state() === "idle";
    }, 30_000, () => `sinfo: ${state()}\n${logs()}`);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
