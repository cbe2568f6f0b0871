/**
 * With no workers named, `sweep run` starts a worker process on loopback and talks to it over real
 * gRPC, so the quick start exercises the real path. The worker exits with its parent (its stdin
 * closes), even when the coordinator is killed with SIGKILL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface LocalWorker {
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface LocalWorkerOptions {
  /** The script that runs the sweep CLI (bin/sweep.js): the worker is `node <cliEntry> worker ...`. */
  cliEntry: string;
  threads?: number;
  modelRoot: string;
  log: (line: string) => void;
}

export function startLocalWorker(opts: LocalWorkerOptions): Promise<LocalWorker> {
  const args = [opts.cliEntry, "worker", "--listen", "127.0.0.1:0", "--model-root", opts.modelRoot, "--exit-with-parent"];
  if (opts.threads) args.push("--threads", String(opts.threads));
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  const stderr = createInterface({ input: child.stderr! });
  let lastLines: string[] = [];
  // A notice (a truncated prompt) is said again by a restarted worker: relayed once.
  const relayed = new Set<string>();
  stderr.on("line", (line) => {
    lastLines = [...lastLines.slice(-4), line];
    if (/truncated/.test(line)) {
      if (relayed.has(line)) return;
      relayed.add(line);
    } else if (!/error|rejected|crash|terminate|out of memory/i.test(line)) {
      return;
    }
    opts.log(`local worker: ${line}`);
  });
  return new Promise((resolve, reject) => {
    const stdout = createInterface({ input: child.stdout! });
    stdout.once("line", (line) => {
      const address = (JSON.parse(line) as { listening?: string }).listening;
      if (!address) return reject(new Error(`local worker said '${line}' instead of its address`));
      resolve({
        address,
        child,
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
          child.once("exit", () => {
            clearTimeout(kill);
            done();
          });
          child.kill("SIGTERM");
        }),
      });
    });
    // its own last words, without a stack trace's frames
    const said = () => lastLines.filter((l) => l.trim() && !/^\s|^Node\.js v|^[{}]|^\s*at /.test(l)).join(" | ");
    child.once("exit", (code, signal) => reject(new Error(`local worker exited (${signal ?? code}) before listening: ${said()}`)));
  });
}
