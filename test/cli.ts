import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect } from "vitest";
import { repoRoot } from "./reference.js";

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export const sweepBin = path.join(repoRoot, "bin", "sweep.js");

/** Runs the real CLI (built dist/) as a child process. */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sweepBin, ...args], {
      cwd: opts.cwd ?? repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The synthetic tiny FLUX.2 model imported into `dir` (the test fails if the import does); returns `dir`. */
export async function importTinyFlux2(dir: string): Promise<string> {
  const r = await runCli(["models", "import", "--synthetic", "flux2-tiny", "--out", dir]);
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

/** A new temporary folder holding `sweep.yaml` with this text; returns the folder. */
export function sweepDir(yaml: string): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, "sweep.yaml"), yaml);
  return dir;
}

const made: string[] = [];

/** A new temporary folder, removed with everything in it when the test file's tests are done. */
export function tempDir(prefix = "sweep-test-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made so far. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}

// Imported while a test file is collected, so this runs after all of that file's tests.
afterAll(removeTempDirs);

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects after `timeoutMs`, or if the process ends first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when it has exited, with what it wrote. */
  done: Promise<CliResult>;
}

/** Starts the real CLI as a child process and lets the test act while it runs (kill a worker it started, say). */
export function startCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): CliProcess {
  const child = spawn(process.execPath, [sweepBin, ...args], {
    cwd: opts.cwd ?? repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const output = () => stdout + stderr;
  return {
    child, output, done,
    waitFor: (pattern, timeoutMs = 60_000) => new Promise((found, fail) => {
      const deadline = Date.now() + timeoutMs;
      const look = () => {
        if (pattern.test(output())) return found();
        if (child.exitCode !== null || child.signalCode !== null) return fail(new Error(`exited before its output matched ${pattern}:\n${output()}`));
        if (Date.now() > deadline) return fail(new Error(`output did not match ${pattern} within ${timeoutMs / 1000} s:\n${output()}`));
        setTimeout(look, 20);
      };
      look();
    }),
  };
}
