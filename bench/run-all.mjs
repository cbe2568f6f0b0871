// `npm run bench`: every benchmark, a table on stdout, and BENCHMARKS.md with figures and targets.
// `node bench/run-all.mjs --evaluator-only [--from-json FILE...]`: the evaluator alone (or the figures of
// earlier `bench/evaluator.mjs --json` runs), its part of BENCHMARKS.md rewritten.
// `node bench/run-all.mjs --dispatch-only [--rounds N] [--evaluations N]`: dispatch (random, SES, the
// mix; N rounds, the median and the spread) and wire bytes alone, their part of BENCHMARKS.md rewritten.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { dispatchBench } from "./dispatch.mjs";
import { evaluatorBench, stageTable } from "./evaluator.mjs";
import { root } from "./lib.mjs";
import { noiseBench } from "./noise.mjs";
import { schedulingBench } from "./scheduling.mjs";
import { wireBench } from "./wire.mjs";

const log = (s) => process.stderr.write(`[bench] ${s}\n`);
const started = Date.now();
// Figures as BENCHMARKS.md prints them: fixed decimals, thousands grouped (24,649 evaluations/s).
const f = (x, d = 1) => (x === null || x === undefined ? "n/a" : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }));

async function evaluatorFigures() {
  log("evaluator, both pipeline paths (flux2-tiny on the CPU: 256x256 and 1024x1024, batch 1 and 4)...");
  return [
    ...(await evaluatorBench({ synthetic: "flux2-tiny", batch: [1, 4] })),
    ...(await evaluatorBench({ synthetic: "flux2-tiny", batch: [1, 4], height: 1024, width: 1024, evals: 4 })),
  ];
}

/** Targets of the one-run path (issue 19) with flux2-tiny at 1024x1024, max_batch 4, on this CPU. */
const HOST_TARGET = { bytes_per_image: 8e6, host_ms_without_png: 10 };

/** The evaluator's table rows, stage table and "how measured" item of BENCHMARKS.md. */
function evaluatorMarkdown(evaluator) {
  const rows = evaluator.map((r) => {
    const checked = r.path === "one-run" && r.height === 1024 && r.batch === 4;
    const met = r.bytes_per_image <= HOST_TARGET.bytes_per_image && r.host_ms_without_png <= HOST_TARGET.host_ms_without_png;
    return [
      `evaluator, flux2-tiny, CPU ${r.height}x${r.width}, batch ${r.batch}, ${r.path} path`,
      `${f(r.evals_per_s_without_png, 2)} evaluations/s scores only; per image ${f(r.bytes_per_image / 1e6, 2)} MB across run() calls, host ${f(r.host_ms_without_png, 2)} ms (${f(r.host_ms, 1)} ms with the image fetched and PNG-encoded)`,
      checked ? "at 1024x1024, batch 4: <= 8 MB and <= 10 ms of host work per image" : "on one H100/H200, flux2-klein-4b, 1024x1024: <= 0.40 s per image",
      checked ? (met ? "met" : "MISSED") : "n/a (GPU target)",
    ];
  });
  const label = (r) => `${r.path}, ${r.height}x${r.width}, batch ${r.batch}`;
  const section = `Evaluator stages, ms per evaluation and share of the total, both pipeline paths in one process (\`node bench/evaluator.mjs
--synthetic flux2-tiny [--batch 1,4] [--height 1024 --width 1024]\`: this CPU, float32, 4 steps, ${evaluator[0].device.replace(/^cpu \(|\)$/g, "")};
1-minute load average ${evaluator.map((r) => f(r.load_avg, 1)).join(", ")} after each):

${stageTable(evaluator, label)}`;
  const item = `- Evaluator: \`bench/evaluator.mjs\` imports the synthetic model into a temporary folder and measures both
  paths of the pipeline in one process: "one-run" (the batch graph, one run() per batch: what workers
  run) and "stages" (five graphs with the host computing between them: the design before it). Per
  path and batch size: one warm-up batch (excluded), then ${evaluator[0].evaluations} candidates of one cached prompt (4 at
  1024x1024) twice, scores only (what a search needs: bytes across run() calls and host time per
  image), then with every image fetched and PNG-encoded (fast-png; what a render of a kept image
  costs). Stage times come from the pipeline's \`timings\`: a graph's time is its run() call (on a
  GPU, the host <-> device copies included); host time is the wall time outside run() calls;
  bytes are those of every tensor given to and returned by run() calls. Prompt encoding (Qwen3 +
  CLIP text) is timed apart: a sweep pays it once per prompt per device. The GPU target is for
  flux2-klein-4b at 1024x1024 on one H100 or H200 (\`bench/device-evaluator.sh\`); flux2-tiny on a
  CPU shows the host work and the traffic, whose cost depends on the image size, hardly on the
  model's (the real model's prompt embedding is 80 times wider: 15.7 MB per batch in float32).
  \`node bench/run-all.mjs --evaluator-only\` measures this part alone and rewrites it in BENCHMARKS.md.`;
  return { rows, section, item };
}

/** "What was slow" about SES dispatch (issue 14); --dispatch-only puts it in place too. */
const SES_SLOW = `- SES dispatch 3,100/s -> 15,000/s, the mix 4,800-5,400/s -> 16,200-20,000/s (200,000 each, the
  old and the new tree in turn on a quiet machine; random 30,000-33,000/s -> 26,600-28,400/s there,
  from other work in the tree: these changes, toggled alone, leave random as it was). Each
  candidate's 2,048 low-band floats became a JavaScript array that protobufjs wrote float by float,
  and the worker decoded them the same way back (about 170 us a candidate on each side): the low band
  now travels as raw little-endian float32 bytes, copied in one piece (\`SesRecipe.low_f32le\`, sent to
  workers that announce it; docs/protocol.md). Next, HTTP/2 flow control: grpc-js servers keep a
  64 KiB receive window, so every 8 candidates waited for the worker's WINDOW_UPDATE; both ends now
  advertise 8 MiB (-40% CPU per candidate on both sides). Next, garbage collection, 30-40% of both
  sides' CPU: every buffer a candidate passes through (its generation's samples, the serialized
  request and grpc-js's framed copy; on a worker the HTTP/2 reads, grpc-js's message and the decoded
  low band) counts towards V8's next full collection. SES now draws each generation into the array
  of the generation before last, the coordinator serializes requests into reused buffers, and
  workers let their heap grow to 3x its live size between full collections (their memory is the
  models'): over 100,000 SES evaluations the coordinator ran 335 full collections before, about 140
  with the raw bytes, 77 now; a worker 54 with the raw bytes, 10 now. SES's per-generation
  arithmetic and mt19937 moved into the native addon (the same bits): 28 -> 9 us a candidate on one
  core. What bounds SES now is CPU per evaluation, about twice random's (table: coordinator 68 us
  against 30, workers 62 against 40): of the coordinator's extra (perf), about 18 us garbage
  collection (the full collections that grpc-js's framed copy of each 8 KiB still brings), 6 us the
  strategy (2,048 torch normals, the samples, the elite moments), 3 us copies and 10 us protobuf and
  stream handling; of the workers', receiving, decoding and copying 8 KiB onto a device thread and
  the collections of those buffers. That is what must be done to move 8 KiB per candidate through
  protobuf, grpc-js, HTTP/2 and the kernel into another process.`;

const DISPATCH = [
  ["random", "random"],
  ["ses", "SES"],
  ["mix", "random + SES (half each)"],
  ["zero-order", "zero-order"],
  ["evolution", "evolution"],
];

/** Evaluations per second each must reach: zero-order and evolution's is enough for about 800 GPUs at 0.4 s an image. */
const DISPATCH_TARGET = { "zero-order": 2000, evolution: 2000 };

/** Every dispatch figure, `rounds` times in turn (random, SES, mix, random, ...), 200,000 evaluations each. */
async function dispatchFigures(rounds, evaluations = 200_000) {
  const runs = Object.fromEntries(DISPATCH.map(([s]) => [s, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const [strategy, label] of DISPATCH) {
      log(`dispatch rate, ${label} (${evaluations} noop evaluations, 4 workers)${rounds > 1 ? `, round ${r} of ${rounds}` : ""}...`);
      runs[strategy].push({ ...(await dispatchBench({ strategy, evaluations })), load_avg: loadavg()[0] });
    }
  }
  return runs;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** The dispatch and wire rows, and the "how measured" items, of BENCHMARKS.md. */
function dispatchMarkdown(runs, wire) {
  const ok = (b) => (b ? "met" : "**missed**");
  const rounds = runs.random.length;
  const rate = (s) => median(runs[s].map((x) => x.rate));
  const cpu = (s, who) => median(runs[s].map((x) => x.cpu_us_per_evaluation?.[who] ?? NaN));
  const rows = DISPATCH.map(([s, label]) => {
    const xs = runs[s].map((x) => x.rate);
    const spread = rounds > 1 ? `, ${f(Math.min(...xs), 0)}-${f(Math.max(...xs), 0)} in ${rounds} rounds` : "";
    const ratio = s === "random" ? "" : `; ${f(rate(s) / rate("random"), 2)}x random's`;
    return [`dispatch rate, ${label}, noop, 4 workers, 2 cores`,
      `${f(rate(s), 0)} evaluations/s over ${f(runs[s][0].evaluations, 0)}${spread}${ratio}; CPU per evaluation: coordinator ${f(cpu(s, "coordinator"), 0)} us, workers ${f(cpu(s, "workers"), 0)} us`,
      `>= ${(DISPATCH_TARGET[s] ?? 10000).toLocaleString("en-US")}/s`, ok(rate(s) >= (DISPATCH_TARGET[s] ?? 10000))];
  });
  const memory = (s, label) => {
    const d = runs[s][0];
    return [`coordinator memory growth, ${label} run`, `${f(d.rss_growth_mb)} MB (${f(d.rss_start_mb)} MB at the first evaluation; peak ${f(d.rss_peak_dispatch_mb)} MB dispatching, ${f(d.rss_peak_after_dispatch_mb)} MB deriving trials and the report)`, "< 50 MB", ok(d.rss_growth_mb < 50)];
  };
  rows.push(memory("random", "random"), memory("ses", "SES"));
  rows.push(
    ["wire bytes per evaluation, random", `${f(wire.random.total)} B (request ${f(wire.random.request)}, result ${f(wire.random.response)})`, "<= 200 B", ok(wire.random.total <= 200)],
    ["wire bytes per evaluation, SES", `${f(wire.ses.total)} B (request ${f(wire.ses.request)}, result ${f(wire.ses.response)})`, "<= 10 KiB", ok(wire.ses.total <= 10240)],
    ["wire bytes per evaluation, zero-order (budget 100)", `${f(wire.zeroOrder.total)} B (request ${f(wire.zeroOrder.request)}, result ${f(wire.zeroOrder.response)})`, "<= 1 KiB (the noise: 2 MiB)", ok(wire.zeroOrder.total <= 1024)],
    ["wire bytes per evaluation, evolution (budget 100)", `${f(wire.evolution.total)} B (request ${f(wire.evolution.request)}, result ${f(wire.evolution.response)})`, "<= 1 KiB (the noise: 2 MiB)", ok(wire.evolution.total <= 1024)],
  );
  const n = runs.random[0].evaluations;
  const loads = runs.random.flatMap((_, r) => DISPATCH.map(([s]) => f(runs[s][r].load_avg, 1))).join(", ");
  const items = `- Dispatch: \`sweep run\` with the \`noop\` evaluator (scores a recipe without materialising noise),
  8 prompts x budget 250, ${n.toLocaleString("en-US")} evaluations: random search (${n / 2000} seeds), SES with DiffSynth's
  defaults (${n / 2000} seeds; 2,048 low-band floats per candidate), both in one sweep (${n / 4000} seeds each),
  zero-order search and evolution at their defaults (${n / 2000} seeds each: 4 neighbours; populations 14 then 7, 3 elites),
  on 4 \`sweep worker\` processes (1 slot each) on loopback, all on this machine; rate = rows /
  (last - first finished_at) in evaluations.csv${rounds > 1 ? `; ${rounds} rounds of the five in turn, the median and
  the range` : ""}; 1-minute load average after each run: ${loads}.
  CPU per evaluation: user + system time of the coordinator and of the 4 workers (every thread:
  V8's GC helpers, device threads), sampled from /proc every 250 ms while dispatching, over the
  evaluations recorded meanwhile.
  Memory: the coordinator's VmRSS sampled every 250 ms from its first recorded evaluation to its
  exit (dispatch, then trials and the report, both streamed from evaluations.csv); growth = the
  peak minus the first sample.
- Wire: the coordinator counts the protobuf bytes of every Evaluate message it sends and receives
  (plus gRPC's 5-byte framing) with SWEEP_MEASURE_WIRE=1; HTTP/2 and TCP framing are not counted.
  \`node bench/run-all.mjs --dispatch-only [--rounds N]\` measures these two alone and rewrites them here.`;
  return { rows, items };
}

if (process.argv.includes("--dispatch-only")) {
  // Only dispatch and wire: their rows and items replace theirs in BENCHMARKS.md; the rest stays.
  const option = (name, fallback) => {
    const at = process.argv.indexOf(name);
    const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer`);
    return value;
  };
  const rounds = option("--rounds", 1);
  const evaluations = option("--evaluations", 200_000);
  log("wire bytes...");
  const wire = await wireBench();
  const { rows, items } = dispatchMarkdown(await dispatchFigures(rounds, evaluations), wire);
  const file = path.join(root, "BENCHMARKS.md");
  const ours = /^\| (dispatch rate|coordinator memory growth|wire bytes per evaluation)/;
  const lines = readFileSync(file, "utf8").split("\n");
  const header = lines.findIndex((l) => l.startsWith("| figure | measured"));
  const kept = lines.filter((l) => !ours.test(l));
  kept.splice(header + 2, 0, ...rows.map((r) => `| ${r.join(" | ")} |`));
  let md = kept.join("\n");
  md = md.replace(/^- Dispatch: [\s\S]*?\n(?=- (?!Wire)|\n)/m, `${items}\n`);
  md = /^- SES dispatch /m.test(md)
    ? md.replace(/^- SES dispatch [\s\S]*?\n(?=- |\n)/m, `${SES_SLOW}\n`)
    : md.replace(/\n\nTo reproduce:/, `\n${SES_SLOW}\n\nTo reproduce:`);
  writeFileSync(file, md);
  console.log(rows.map((r) => `| ${r.join(" | ")} |`).join("\n"));
  process.exit(0);
}

if (process.argv.includes("--evaluator-only")) {
  // Only the evaluator: its rows, section and item replace theirs in BENCHMARKS.md; the rest stays.
  // `--from-json A.json B.json ...`: the figures of earlier `bench/evaluator.mjs --json` runs instead.
  const from = process.argv.indexOf("--from-json");
  const figures = from >= 0 ? process.argv.slice(from + 1).flatMap((file) => JSON.parse(readFileSync(file, "utf8"))) : await evaluatorFigures();
  const { rows, section, item } = evaluatorMarkdown(figures);
  const file = path.join(root, "BENCHMARKS.md");
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => !l.startsWith("| evaluator, "));
  const header = lines.findIndex((l) => l.startsWith("| figure | measured"));
  let end = header;
  while (lines[end + 1]?.startsWith("| ")) end++;
  lines.splice(end + 1, 0, ...rows.map((r) => `| ${r.join(" | ")} |`));
  let md = lines.join("\n");
  const how = md.indexOf("How each figure is measured:");
  const old = md.indexOf("Evaluator stages, ");
  md = old >= 0 && old < how ? `${md.slice(0, old)}${section}\n\n${md.slice(how)}` : `${md.slice(0, how)}${section}\n\n${md.slice(how)}`;
  md = /^- Evaluator: /m.test(md)
    ? md.replace(/^- Evaluator: [\s\S]*?\n(?=- |\n)/m, `${item}\n`)
    : md.replace(/\n\nWhat was slow/, `\n${item}\n\nWhat was slow`);
  writeFileSync(file, md);
  console.log(section);
  process.exit(0);
}

log("noise and SES rebuild (one core)...");
const noise = noiseBench();
let reference = null;
try {
  reference = JSON.parse(execFileSync("/usr/bin/python3", [path.join(root, "bench", "reference_noise.py")], { encoding: "utf8" }));
} catch (e) {
  log(`reference timings skipped: ${e.message.split("\n")[0]} (apt-get install python3-torch python3-pywt)`);
}
log("wire bytes...");
const wire = await wireBench();
const dispatch = dispatchMarkdown(await dispatchFigures(1), wire);
log("scheduling efficiency (2 x 20,000 evaluations, 8 slots)...");
const scheduling = await schedulingBench();
const evaluator = evaluatorMarkdown(await evaluatorFigures());

const ok = (b) => (b ? "met" : "**missed**");
const rows = [
  ...dispatch.rows,
  ["noise (1,128,64,64), one core", `${f(noise.randn_ms, 2)} ms (${f(noise.randn_per_s)}/s); torch.randn ${reference ? `${f(reference.randn_ms, 2)} ms` : "n/a"}`, "within 2x of torch.randn", reference ? ok(noise.randn_ms <= 2 * reference.randn_ms) : "n/a"],
  ["SES candidate rebuild on a worker", `${f(noise.ses_rebuild_ms, 2)} ms; reference (pywt.waverec2 + torch) ${reference ? `${f(reference.ses_rebuild_ms, 2)} ms` : "n/a"}`, "faster than the reference", reference ? ok(noise.ses_rebuild_ms < reference.ses_rebuild_ms) : "n/a"],
  ["scheduling efficiency, 8 mixed slots, 20 ms +/- 5 ms", `${f(100 * scheduling.steady.efficiency)}% (${f(scheduling.steady.wall_s)} s for ${scheduling.steady.evaluations}, ideal ${f(scheduling.steady.ideal_s)} s)`, ">= 95%", ok(scheduling.steady.efficiency >= 0.95)],
  ["same, a 2-slot worker killed half way", `${f(100 * scheduling.killed.efficiency)}% (${f(scheduling.killed.wall_s)} s, ideal ${f(scheduling.killed.ideal_s)} s)`, ">= 95%", ok(scheduling.killed.efficiency >= 0.95)],
  ...evaluator.rows,
];

const table = ["| figure | measured | target | |", "| --- | --- | --- | --- |", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const md = `# Benchmarks

Measured by \`npm run bench\` (each benchmark also runs alone: \`node bench/<name>.mjs\`) on
${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}${reference ? `, reference: torch ${reference.torch}, PyWavelets ${reference.pywt} (Debian)` : ""}.
Total time ${((Date.now() - started) / 1000).toFixed(0)} s. Machines here are shared: compare figures within one run.

${table}

${evaluator.section}

How each figure is measured:
${dispatch.items}
- Noise: \`torchRandn\` and an SES candidate's \`NoiseFactory.materialise\` (cached base split,
  db1 level 4), timed for 2 s each on one core; the reference is \`bench/reference_noise.py\`
  (torch.randn with one thread; pywt.waverec2 of the low band with fixed high bands, as ses_search).
- Scheduling: the synthetic evaluator's simulated 20 ms +/- 5 ms per evaluation, workers with 2, 2
  and 4 slots; efficiency = sum of evaluation latencies / slot-time available between the first
  start and the last finish.
${evaluator.item}

What was slow, why, and what fixed it (figures from earlier runs of this script on this machine):
- Noise 50 ms -> 18 ms -> 1.3 ms (torch.randn: 1.6 ms). The JavaScript transform emulates float32
  fused multiply-adds in doubles; a native addon with scalar \`fmaf\` brought 18 ms, bound by the
  scalar log/sincos chain and mt19937 in JavaScript. Now the addon runs torch's own 8-lane
  AVX2/FMA Box-Muller and draws the mt19937 uniforms in C on the generator state JavaScript owns
  (still bit-exact against the golden data; a scalar path for CPUs without AVX2).
- SES candidate rebuild 9 ms -> 1.8 ms: a one-pass 2-tap inverse DWT for Haar/db1 levels.
- Dispatch 6,600-7,100/s -> 18,000-30,000/s. The workers' main threads were the bound: every
  candidate cost a piscina message and a thread wake-up, and with two candidates in flight per
  slot every request carried one candidate. Now the coordinator keeps about 10 ms of work queued
  per slot (2 to 64 candidates, by the reported latency), so cheap evaluations travel in batches,
  and a device thread takes up to 2 ms worth of them per task. The coordinator then spent a tenth
  of its time in csv-stringify (about 15 us a row); evaluations.csv lines are now formatted by
  hand with the same quoting (about 1 us).
- Coordinator memory +40-86 MB while dispatching and about 420 MB at 200,000 rows while deriving
  trials and the report -> about +10 MB over the whole run. The live heap was flat (about 30 MB);
  V8 let the heap grow up to 4x between full collections at this allocation rate, so the
  coordinator caps growth at 20% per collection. Trials and the report parsed the whole CSV into
  row objects; they now stream it into typed arrays per search, and the bootstrap draws its
  resampling indices as it uses them instead of allocating an n x resamples matrix (32 MB for 800
  pairs), with the same numbers.
${SES_SLOW}

To reproduce: \`npm ci && npm run bench\` (\`apt-get install python3-torch python3-pywt\` for the
reference column).
`;
writeFileSync(path.join(root, "BENCHMARKS.md"), md);
console.log(table);
