// Helpers shared by the benchmarks: real worker and coordinator processes on loopback.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "sweep.js");

export function tempDir() {
  return mkdtempSync(path.join(tmpdir(), "sweep-bench-"));
}

export function startWorker(threads) {
  const child = spawn(process.execPath, [bin, "worker", "--listen", "127.0.0.1:0", "--threads", String(threads)], { stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve({ child, address: JSON.parse(line).listening }));
    child.once("exit", (code) => reject(new Error(`worker exited ${code}`)));
  });
}

export function stopAll(workers) {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
}

/** Runs `sweep run` on a YAML text; `onPoll(child, runDir, stderrSoFar)` is called every 250 ms. */
export async function runSweep(yaml, args, { env = {}, onPoll } = {}) {
  const dir = tempDir();
  writeFileSync(path.join(dir, "sweep.yaml"), yaml);
  const runDir = path.join(dir, "run");
  const child = spawn(process.execPath, [bin, "run", "sweep.yaml", "--run-dir", runDir, ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const timer = onPoll ? setInterval(() => onPoll(child, runDir, stderr), 250) : undefined;
  const code = await new Promise((r) => child.on("close", r));
  if (timer) clearInterval(timer);
  if (code !== 0) throw new Error(`sweep run exited ${code}: ${stderr.slice(-2000)}`);
  return { runDir, manifest: JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8")) };
}

export function readRows(runDir) {
  return parse(readFileSync(path.join(runDir, "evaluations.csv"), "utf8"), { columns: true });
}

/** Resident memory of a process in MB (Linux). */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far (Linux); NaN once it is gone. */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Evaluations per second between the first and last finished row. */
export function rowRate(rows) {
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    const t = Date.parse(r.finished_at);
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  return rows.length / ((last - first) / 1000);
}
