import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { sweepBin } from "./cli.js";
import { repoRoot } from "./reference.js";

export interface WorkerProcess {
  address: string;
  port: number;
  child: ChildProcess;
  stderr: () => string;
  /** Resolves once its log matches `pattern` (e.g. the "ready" line after --preload); rejects after `timeoutMs` or if it exits. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const started: ChildProcess[] = [];

/**
 * Starts `sweep worker` as a real process and waits for its address. `prefix` runs it through
 * another command that execs it (`ip netns exec NAME`), so the child is still the worker itself.
 */
export function startWorkerProcess(args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<WorkerProcess> {
  const [command, ...rest] = [...prefix, process.execPath, sweepBin, "worker", ...args];
  const child = spawn(command, rest, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  started.push(child);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", (line) => {
      const address = (JSON.parse(line) as { listening: string }).listening;
      resolve({
        address,
        port: Number(address.split(":").pop()),
        child,
        stderr: () => err,
        waitForLog: (pattern, timeoutMs = 60_000) => new Promise((found, fail) => {
          const done = (settle: () => void) => {
            clearTimeout(timer);
            child.stderr!.off("data", look);
            child.off("exit", exited);
            settle();
          };
          const look = () => pattern.test(err) && done(found);
          const exited = () => done(() => fail(new Error(`worker exited before its log matched ${pattern}: ${err}`)));
          const timer = setTimeout(() => done(() => fail(new Error(`worker log did not match ${pattern} within ${timeoutMs / 1000} s: ${err}`))), timeoutMs);
          child.stderr!.on("data", look);
          child.once("exit", exited);
          look();
        }),
        stop: () => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGCONT");
          child.kill("SIGKILL");
        }),
      });
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
  });
}

export function killAllWorkers(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
