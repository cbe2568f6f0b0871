// Peak resident memory of the flux2-pickscore evaluator on this CPU, per image size and max_batch:
// each case runs bench/evaluator.mjs in its own process (peak RSS is per process), sampled from
// /proc/PID/status (VmHWM) every 100 ms. A case past --cap GB is killed here (reported as
// "killed at N GB"), as the kernel's OOM killer would, without taking the machine's other
// processes with it. Beside each measured peak: the estimate of src/models/memory-estimate.ts.
//
//   npm run build && node bench/evaluator-memory.mjs [--sizes 768,1024] [--batches 1,4] [--cap 16] [--root DIR]
// --root: another checkout of this project (built), to measure its graphs the same way (before/after).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { root as here } from "./lib.mjs";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const list = (v, d) => (v ?? d).split(",").map(Number);
const sizes = list(args.sizes, "768,1024");
const batches = list(args.batches, "1,4");
const capGB = Number(args.cap ?? 16);
const root = path.resolve(args.root ?? here);
const GB = 2 ** 30;

const tmp = mkdtempSync(path.join(tmpdir(), "sweep-memory-"));
const model = path.join(tmp, "flux2-tiny");
execFileSync(process.execPath, [path.join(root, "bin", "sweep.js"), "models", "import", "--synthetic", "flux2-tiny", "--out", model], { stdio: ["ignore", "ignore", "inherit"] });
const manifest = JSON.parse(readFileSync(path.join(model, "manifest.json"), "utf8"));

let estimate = null;
if (manifest.dimensions) {
  const { estimateMemory } = await import(path.join(here, "dist", "models", "memory-estimate.js"));
  const weights = Object.fromEntries(Object.entries(manifest.graphs.float32).map(([g, v]) => [g, v.weight_bytes]));
  estimate = (size, batch) => estimateMemory(manifest.dimensions, weights, { precision: "float32", height: size, width: size, batch }, "cpu").total;
}

function hwm(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function runCase(size, batch) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, "bench", "evaluator.mjs"), "--model", model, "--height", String(size), "--width", String(size), "--batch", String(batch), "--evals", String(batch)], { stdio: ["ignore", "ignore", "ignore"] });
    let peak = 0;
    let capped = false;
    const timer = setInterval(() => {
      peak = Math.max(peak, hwm(child.pid));
      if (peak > capGB * GB && !capped) {
        capped = true;
        child.kill("SIGKILL");
      }
    }, 100);
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      resolve({ peak, killed: signal === "SIGKILL" || capped, failed: code !== 0 && !signal });
    });
  });
}

console.log(`flux2-tiny on this CPU, float32, graphs of ${root}${manifest.graph_version ? ` (graph version ${manifest.graph_version})` : " (graphs before graph_version)"}`);
console.log("| size | max_batch | peak resident memory | estimate |");
console.log("| --- | --- | --- | --- |");
for (const size of sizes) {
  for (const batch of batches) {
    const r = await runCase(size, batch);
    const measured = r.killed ? `killed at ${(r.peak / GB).toFixed(1)} GB` : `${(r.peak / GB).toFixed(2)} GB${r.failed ? " (failed)" : ""}`;
    console.log(`| ${size}x${size} | ${batch} | ${measured} | ${estimate ? `${(estimate(size, batch) / GB).toFixed(2)} GB` : "-"} |`);
  }
}
rmSync(tmp, { recursive: true, force: true });
