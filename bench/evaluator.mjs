// Figure 5: the flux2-pickscore evaluator on one device: evaluations per second, where the time
// goes, and what crosses the host boundary, through both paths of the pipeline: "one-run" (the batch
// graph, one run() per batch: what workers run) and "stages" (five graphs with the host between them,
// the design before it), in the same process, so the two are compared on one machine in one run.
//
//   node bench/evaluator.mjs --synthetic flux2-tiny                       # CPU, 256x256: CI-size
//   node bench/evaluator.mjs --synthetic flux2-klein-4b --device 0 --batch 4,1 --precision bfloat16 --path one-run
//   node bench/evaluator.mjs --model models/flux2-klein-4b --device 0 [--height 1024 --width 1024]
//     [--evals N] [--steps 4] [--threads T (CPU intra-op threads)] [--path one-run|stages|one-run,stages] [--json FILE]
//   node bench/evaluator.mjs --rewards pickscore,hpsv2,clip,aesthetic,imagereward [--size real|tiny] [--device N] [--evals N]
//     each reward's cost per image and per prompt (bench/reward-costs.mjs)
// --batch takes a list (the sessions are opened once); --precision defaults to float32 on a CPU and
// bfloat16 on a GPU; --evals to 16 (CPU) or 24 (GPU), rounded up to whole batches; --path to both.
//
// One warm-up batch (the prompt encoded, sessions built and allocated at the measured size) is
// excluded; then `--evals` candidates of one prompt run in batches of `--batch` (the prompt cached,
// as in a sweep) twice: scores only (what a search needs: `bytes_per_image`, `host_ms_without_png`),
// then with every image fetched and PNG-encoded (what a render of a kept image costs: `host_ms`).
// Prompt encoding is timed apart, on 3 other prompts: a sweep encodes each prompt once per device.
// Stage times are the pipeline's own (Flux2PickScorePipeline.timings): a graph's time is its run()
// call, host <-> device copies included; host time is the wall time outside run() calls; bytes are
// those of every tensor given to and returned by run() calls.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { encode as encodePng } from "fast-png";
import { Flux2Models } from "../dist/evaluators/flux2-pickscore/model-sessions.js";
import { Flux2PickScorePipeline, newStageTimings } from "../dist/evaluators/flux2-pickscore/pipeline.js";
import { torchRandn } from "../dist/noise/torch-generator.js";
import { root } from "./lib.mjs";
import { describeRewards, rewardBench } from "./reward-costs.mjs";

const log = (s) => process.stderr.write(`[evaluator] ${s}\n`);
const PROMPT = "a photograph of an astronaut riding a horse on the moon, detailed, sharp focus";
const OTHER_PROMPTS = ["a red fox in fresh snow at dawn", "an isometric pixel-art city at night", "a bowl of ramen, studio lighting"];

/** The GPU target of the issue: one H100/H200, 1024x1024. */
export const TARGET = { evals_per_s: 2.5, host_share: 0.05, size: 1024 };

/** Host stages, in the order printed; `png` is the bench's, `other` the unaccounted rest. */
const HOST = [
  ["layout", "token layout copies"],
  ["euler", "Euler updates"],
  ["uint8", "uint8 conversion"],
  ["clip_preprocess", "CLIP preprocessing"],
  ["png", "PNG encoding"],
  ["other", "other host (awaits, score, GC)"],
];

/**
 * Runs the benchmark; returns its figures, one result per batch size (`batch`: a number or a list;
 * the sessions are opened once). `model` (a directory) or `synthetic` (imported into a temporary
 * folder, removed after); `device` "cpu" or a CUDA index.
 */
export async function evaluatorBench(opts = {}) {
  const { model, synthetic } = opts;
  if (!model === !synthetic) throw new Error("give --model DIR or --synthetic flux2-tiny|flux2-klein-4b");
  const gpu = opts.device !== undefined && opts.device !== "cpu";
  const device = gpu
    ? { kind: "gpu", index: Number(opts.device), intraOpThreads: 1 }
    : { kind: "cpu", index: 0, intraOpThreads: opts.threads ?? availableParallelism() };
  const precision = opts.precision ?? (gpu ? "bfloat16" : "float32");
  let tmp = null;
  let models = null;
  try {
    let dir = model;
    let importS = null;
    if (synthetic) {
      tmp = mkdtempSync(path.join(opts.tmpRoot ?? tmpdir(), "sweep-bench-model-"));
      dir = path.join(tmp, synthetic);
      log(`importing --synthetic ${synthetic} into ${dir}...`);
      const t = performance.now();
      execFileSync(process.execPath, [path.join(root, "bin", "sweep.js"), "models", "import", "--synthetic", synthetic, "--out", dir], { stdio: ["ignore", "ignore", "inherit"] });
      importS = (performance.now() - t) / 1000;
    }
    const t = performance.now();
    models = await Flux2Models.open(dir, precision, device);
    const setup = { model: dir, import_s: importS, load_s: (performance.now() - t) / 1000 };
    const results = [];
    for (const mode of [opts.path ?? ["one-run", "stages"]].flat()) {
      for (const batch of [opts.batch ?? 1].flat()) results.push(await measure(models, device, precision, batch, opts, setup, mode));
    }
    return results;
  } finally {
    await models?.release();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

async function measure(models, device, precision, batch, opts, setup, mode) {
  const gpu = device.kind === "gpu";
  // flux2-tiny on a CPU: a size that runs in CI-size time; the real models: the reference's 1024.
  const size = models.manifest.synthetic === "flux2-tiny" && !gpu ? 256 : 1024;
  const height = opts.height ?? size;
  const width = opts.width ?? size;
  const c = models.manifest.constants;
  if (height % c.latent_scale || width % c.latent_scale) throw new Error(`height and width must be multiples of ${c.latent_scale}`);
  const settings = { height, width, steps: opts.steps ?? 4, score: "cosine", maxBatch: batch };
  const batches = Math.max(1, Math.ceil((opts.evals ?? (gpu ? 24 : 16)) / batch));
  const evals = batches * batch;
  const latent = c.latent_channels * (height / c.latent_scale) * (width / c.latent_scale);
  const pipeline = new Flux2PickScorePipeline(models, log, { mode });
  const noises = Array.from({ length: (batches + 1) * batch }, (_, i) => torchRandn(i, latent));
  const png = (images) => {
    for (const image of images) encodePng({ width, height, data: image, channels: 3, depth: 8 });
  };

  log(`${models.runtime.device_name}, ${precision}, ${height}x${width}, batch ${batch}, ${mode} path: warm-up batch...`);
  let t = performance.now();
  await pipeline.scoreBatch(PROMPT, noises.slice(0, batch), settings, { images: true });
  const warmS = (performance.now() - t) / 1000;

  // Prompt encoding, apart: a sweep pays it once per prompt per device.
  pipeline.timings = newStageTimings();
  for (const p of OTHER_PROMPTS) await pipeline.promptEmbedding(p);
  const prompt = { text_encoder: pipeline.timings.text_encoder / OTHER_PROMPTS.length, clip_text: pipeline.timings.clip_text / OTHER_PROMPTS.length };

  // Two passes over the same candidates: scores only (what a search needs), then with every image
  // fetched and PNG-encoded (what a render of kept images costs).
  const pass = async (images) => {
    log(`${evals} evaluations in ${batches} batches${images ? ", images fetched and PNG-encoded" : ", scores only"}...`);
    const timings = (pipeline.timings = newStageTimings());
    let pngMs = 0;
    const started = performance.now();
    for (let k = 1; k <= batches; k++) {
      const scored = await pipeline.scoreBatch(PROMPT, noises.slice(k * batch, (k + 1) * batch), settings, { images });
      const t1 = performance.now();
      if (images) png(scored.map((r) => r.image));
      pngMs += performance.now() - t1;
    }
    const wallMs = performance.now() - started;
    pipeline.timings = null;
    const runMs = timings.transformer + timings.vae_decoder + timings.clip_vision + timings.batch;
    return { timings, wallMs, pngMs, runMs, bytes: timings.bytes_in + timings.bytes_out };
  };
  const scoresOnly = await pass(false);
  const withImages = await pass(true);
  const load = loadavg()[0];
  if (pipeline.textEncodes !== 1 + OTHER_PROMPTS.length) throw new Error("the measured batches encoded a prompt: the prompt cache was missed");

  const per = (ms) => ms / evals;
  const timings = withImages.timings;
  const stages = {
    transformer: per(timings.transformer),
    vae_decoder: per(timings.vae_decoder),
    clip_vision: per(timings.clip_vision),
    batch: per(timings.batch),
    layout: per(timings.layout),
    euler: per(timings.euler),
    uint8: per(timings.uint8),
    clip_preprocess: per(timings.clip_preprocess),
    png: per(withImages.pngMs),
  };
  const accounted = Object.values(stages).reduce((a, b) => a + b, 0);
  stages.other = Math.max(0, per(withImages.wallMs) - accounted);
  const totalMs = per(withImages.wallMs);
  // host work: the wall time outside run() calls
  const hostMs = per(withImages.wallMs - withImages.runMs);
  const hostMsWithoutPng = per(scoresOnly.wallMs - scoresOnly.runMs);
  const synthetic = models.manifest.synthetic;
  const result = {
    model: `${path.basename(setup.model)}${synthetic ? ` (synthetic ${synthetic})` : ""}`,
    device: gpu ? `cuda:${device.index} (${models.runtime.device_name})` : `cpu (${cpus().length} x ${cpus()[0]?.model.trim() ?? "?"}, ${device.intraOpThreads} intra-op threads)`,
    gpu,
    path: mode,
    precision,
    height,
    width,
    steps: settings.steps,
    batch,
    evaluations: evals,
    import_s: setup.import_s,
    load_s: setup.load_s,
    warmup_s: warmS,
    /** the host's 1-minute load average after the measured batches (other processes slow a CPU run) */
    load_avg: load,
    evals_per_s: 1000 / totalMs,
    evals_per_s_without_png: 1000 / per(scoresOnly.wallMs),
    total_ms: totalMs,
    transformer_run_ms: timings.transformer_runs ? timings.transformer / timings.transformer_runs : null,
    transformer_runs: timings.transformer_runs,
    prompt_ms: prompt,
    stages_ms: stages,
    host_ms: hostMs,
    host_ms_without_png: hostMsWithoutPng,
    host_share: hostMs / totalMs,
    host_share_without_png: hostMsWithoutPng / per(scoresOnly.wallMs),
    /** bytes into and out of run() calls per image, scores only (what a search moves) */
    bytes_per_image: scoresOnly.bytes / evals,
    bytes_per_image_with_images: withImages.bytes / evals,
    /** the process's peak resident memory so far (every batch size and path this process ran) */
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  result.targets = gpu && height === TARGET.size && width === TARGET.size
    ? { evals_per_s: result.evals_per_s >= TARGET.evals_per_s, host_share: result.host_share < TARGET.host_share }
    : null;
  return result;
}

// Figures as BENCHMARKS.md prints them: fixed decimals, thousands grouped.
const f = (x, d = 1) => Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** The per-stage table (markdown): one pair of columns per result, headed by `label(r)`. */
export function stageTable(results, label = (r) => `${r.path}, batch ${r.batch}`) {
  const rs = Array.isArray(results) ? results : [results];
  const cells = (ms, r) => `${f(ms, 2)} | ${pct(ms / r.total_ms)}`;
  const row = (name, get) => `| ${name} | ${rs.map((r) => cells(get(r), r)).join(" | ")} |`;
  const single = (name, get) => `| ${name} | ${rs.map((r) => `${get(r)} | `).join(" | ")} |`;
  return [
    `| stage, ms per evaluation | ${rs.map((r) => `${label(r)} | share`).join(" | ")} |`,
    `| --- |${" --- | --- |".repeat(rs.length)}`,
    row("batch graph, one run per batch", (r) => r.stages_ms.batch),
    row("transformer (4 runs per batch)", (r) => r.stages_ms.transformer),
    row("VAE decoder", (r) => r.stages_ms.vae_decoder),
    row("CLIP vision", (r) => r.stages_ms.clip_vision),
    ...HOST.map(([k, name]) => row(`host: ${name}`, (r) => r.stages_ms[k])),
    `| **host, outside run() calls** | ${rs.map((r) => cells(r.host_ms, r)).join(" | ")} |`,
    `| **total** | ${rs.map((r) => `${f(r.total_ms, 2)} | 100%`).join(" | ")} |`,
    single("host ms per image without PNG (scores only)", (r) => f(r.host_ms_without_png, 2)),
    single("MB across run() per image, scores only (with images)", (r) => `${f(r.bytes_per_image / 1e6, 2)} (${f(r.bytes_per_image_with_images / 1e6, 2)})`),
    single("evaluations/s with PNG (scores only)", (r) => `${f(r.evals_per_s, 2)} (${f(r.evals_per_s_without_png, 2)})`),
    single("prompt encoding, ms once per prompt", (r) => f(r.prompt_ms.text_encoder + r.prompt_ms.clip_text, 1)),
  ].join("\n");
}

/** Several lines: what ran, the rate, prompt encoding, the table, the host share and the targets. */
export function describe(r) {
  const targets = r.targets
    ? `targets (one H100/H200, ${TARGET.size}x${TARGET.size}): >= ${TARGET.evals_per_s} evaluations/s ${r.targets.evals_per_s ? "met" : "MISSED"}; host < ${pct(TARGET.host_share)} ${r.targets.host_share ? "met" : "MISSED"}`
    : `targets: for a GPU run at ${TARGET.size}x${TARGET.size} (>= ${TARGET.evals_per_s} evaluations/s, host < ${pct(TARGET.host_share)}); not checked here`;
  return [
    `${r.model}, ${r.device}, ${r.precision}, ${r.height}x${r.width}, ${r.steps} steps, batch ${r.batch}, ${r.path} path: ${r.evaluations} evaluations after one warm-up batch`,
    `evaluations/s: ${f(r.evals_per_s, 2)} (${f(r.total_ms, 1)} ms each, every image fetched and PNG-encoded); scores only: ${f(r.evals_per_s_without_png, 2)}/s`,
    `per image: ${f(r.bytes_per_image / 1e6, 2)} MB across run() calls and ${f(r.host_ms_without_png, 2)} ms of host work, scores only; with the image: ${f(r.bytes_per_image_with_images / 1e6, 2)} MB, ${f(r.host_ms, 2)} ms (PNG included)`,
    `prompt encoding, once per prompt: ${f(r.prompt_ms.text_encoder + r.prompt_ms.clip_text, 1)} ms (text encoder ${f(r.prompt_ms.text_encoder, 1)}, CLIP text ${f(r.prompt_ms.clip_text, 1)})`,
    `setup: ${r.import_s === null ? "" : `import ${f(r.import_s)} s, `}sessions ${f(r.load_s)} s, warm-up batch ${f(r.warmup_s)} s; load average ${f(r.load_avg, 2)} on ${cpus().length} cores; peak resident memory ${f(r.peak_rss_bytes / 2 ** 30, 2)} GB`,
    stageTable(r),
    `host overhead: ${f(r.host_ms, 2)} ms per evaluation, ${pct(r.host_share)} of the total (${pct(r.host_share_without_png)} scores only)`,
    targets,
  ].join("\n");
}

function parseArgs(argv) {
  const opts = {};
  const batches = (v) => (v.includes(",") ? v.split(",").map(Number) : Number(v));
  const names = { rewards: String, size: String, model: String, synthetic: String, device: String, batch: batches, height: Number, width: Number, precision: String, evals: Number, steps: Number, threads: Number, json: String, path: (v) => (v.includes(",") ? v.split(",") : v) };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    if (!argv[i].startsWith("--") || !(name in names) || i + 1 >= argv.length) {
      throw new Error(`usage: node bench/evaluator.mjs --model DIR | --synthetic flux2-tiny|flux2-klein-4b [--device cpu|N] [--batch N[,N...]] [--height H] [--width W] [--precision float32|float16|bfloat16] [--evals N] [--steps N] [--threads N] [--path one-run|stages|one-run,stages] [--json FILE] (at '${argv[i]}')`);
    }
    opts[name] = names[name](argv[++i]);
    if (name !== "path" && [opts[name]].flat().some(Number.isNaN)) throw new Error(`--${name}: a number expected`);
    if (name === "path" && ![opts.path].flat().every((p) => p === "one-run" || p === "stages")) throw new Error("--path: one-run, stages or both (one-run,stages)");
  }
  return opts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  if (opts.rewards) {
    const results = await rewardBench(opts);
    console.log(describeRewards(results));
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
    process.exit(0);
  }
  const results = await evaluatorBench(opts);
  console.log(results.map(describe).join("\n\n"));
  if (results.length > 1) console.log(`\n${stageTable(results)}`);
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
}
