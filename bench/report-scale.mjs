// `sweep report` at scale: rows per second and peak resident memory of the real CLI on run folders
// of 1e5, 1e6 and 1e7 evaluations (or the counts given: node bench/report-scale.mjs 100000 1000000).
// Every folder has the same 200 searches (10 prompts x random and SES x 10 seeds) and 600 trials
// (budgets 10, 100 and rows/200), so what changes between them is the length of the searches: the
// report's memory should stay flat (it grows with trials, not rows) and its time grow with the rows.
// Then the wide case (alone: node bench/report-scale.mjs wide): 10,000 prompts x 2 strategies x 1
// seed x budget 10, 200,000 evaluations in 20,000 short searches, where the per-prompt work counts.
// The manifest is the tool's own (a run that found no worker); evaluations.csv is written here, rows
// interleaved across searches as a run writes them, scores from a seeded generator. KEEP=1 keeps
// the run folders (their paths are printed), to time `sweep report` on them by hand.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "sweep.js");
const STRATEGIES = ["random", "ses"];
/** The row-scale cases: a fixed set of searches, longer and longer. */
const LONG = { prompts: 10, seeds: 10 };
const WIDE = { prompts: 10_000, seeds: 1, budgets: [10] };
const searchesOf = (shape) => shape.prompts * shape.seeds * STRATEGIES.length;
const COLUMNS = "run_id,search_id,prompt_index,prompt,strategy,seed,budget,eval_index,generation,noise_seed,score,best_so_far,status,error,worker,latency_ms,finished_at,attempts";

/** A run folder of `shape.prompts` x 2 strategies x `shape.seeds` searches of the largest budget; returns its path. */
function makeRun(shape) {
  const { prompts: PROMPTS, seeds: SEEDS, budgets } = shape;
  const SEARCHES = searchesOf(shape);
  const budget = Math.max(...budgets);
  const dir = mkdtempSync(path.join(tmpdir(), "sweep-bench-report-"));
  const yaml = `name: report-scale
prompts: [${Array.from({ length: PROMPTS }, (_, i) => `"prompt ${i}"`).join(", ")}]
seeds: [${Array.from({ length: SEEDS }, (_, i) => i).join(", ")}]
budgets: [${budgets.join(", ")}]
strategies: [${STRATEGIES.map((s) => `{ name: ${s} }`).join(", ")}]
evaluator: { kind: noop }
`;
  writeFileSync(path.join(dir, "sweep.yaml"), yaml);
  const runDir = path.join(dir, "run");
  // The tool writes the manifest: a run whose only worker never answers stops at once (exit 1).
  const made = spawnSync(process.execPath, [bin, "run", "sweep.yaml", "--run-dir", runDir, "--workers", "127.0.0.1:9", "--worker-wait", "1"], { cwd: dir, encoding: "utf8" });
  if (made.status !== 1) throw new Error(`making the manifest: sweep run exited ${made.status}: ${made.stderr}`);
  const manifestFile = path.join(runDir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  Object.assign(manifest, { status: "completed", error: undefined, finished_at: new Date().toISOString(), duration_s: 1 });
  manifest.counts = { evaluations: budget * SEARCHES, errors: 0 };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);

  let state = 0x9e3779b9;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const searches = [];
  for (let p = 0; p < PROMPTS; p++) {
    for (const strategy of STRATEGIES) {
      for (let seed = 0; seed < SEEDS; seed++) searches.push({ p, strategy, seed, id: `p${p}/${strategy}/s${seed}`, best: -Infinity });
    }
  }
  const fd = openSync(path.join(runDir, "evaluations.csv"), "w");
  writeSync(fd, `${COLUMNS}\n`);
  const at = "2026-11-26T00:00:00.000Z";
  let chunk = "";
  for (let k = 0; k < budget; k++) {
    for (const s of searches) {
      // SES climbs slowly; random search draws from a fixed distribution.
      const score = s.strategy === "ses" ? uniform() + Math.log1p(k) / 10 : uniform();
      if (score > s.best) s.best = score;
      const generation = s.strategy === "ses" ? String(Math.floor(k / 10)) : "";
      chunk += `${manifest.run_id},${s.id},${s.p},prompt ${s.p},${s.strategy},${s.seed},${budget},${k},${generation},${s.strategy === "ses" ? s.seed : k + 1000},${score},${s.best},ok,,127.0.0.1:7070/cpu,0.010,${at},1\n`;
    }
    if (chunk.length > 1 << 22) {
      writeSync(fd, chunk);
      chunk = "";
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  return { dir, runDir, rows: budget * SEARCHES };
}

/** Runs `sweep report` in its own process; its wall time and peak resident memory. */
function report(runDir) {
  const rss = "data:text/javascript,process.on('exit',()=>process.stderr.write('\\nmaxrss_kb='+process.resourceUsage().maxRSS+'\\n'))";
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", rss, bin, "report", runDir, "--out", path.join(runDir, "..", "report")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => child.on("close", (code) => {
    const seconds = (performance.now() - started) / 1000;
    const kb = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1]);
    if (code !== 0) reject(new Error(`sweep report exited ${code}: ${stderr.slice(-2000)}`));
    else resolve({ seconds, peakMb: kb / 1024 });
  }));
}

async function measure(label, shape) {
  const { dir, runDir, rows } = makeRun(shape);
  try {
    const mb = statSync(path.join(runDir, "evaluations.csv")).size / 2 ** 20;
    const r = await report(runDir);
    console.log(`${label.padEnd(22)} ${String(rows).padStart(9)} ${mb.toFixed(0).padStart(7)}   ${r.seconds.toFixed(1).padStart(8)}   ${Math.round(rows / r.seconds).toString().padStart(8)}   ${r.peakMb.toFixed(0).padStart(11)}`);
  } finally {
    if (process.env.KEEP) console.log(`  kept: ${runDir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const counts = args.map(Number).filter((n) => n > 0);
const wideOnly = args.includes("wide");
const scales = wideOnly ? [] : counts.length > 0 ? counts : [1e5, 1e6, 1e7];
console.log(`sweep report (node ${process.version}, ${process.platform}-${process.arch})`);
console.log("case                        rows  csv MB   report s     rows/s   peak RSS MB");
for (const rows of scales) {
  const budget = Math.ceil(rows / searchesOf(LONG));
  await measure(`${searchesOf(LONG)} searches x ${budget}`, { ...LONG, budgets: [10, 100, budget] });
}
if (wideOnly || counts.length === 0) await measure("10,000 prompts x 2 x 1", WIDE);
