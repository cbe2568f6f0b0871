/**
 * The memory a flux2 spec needs, through the real CLI: a spec whose estimate cannot fit this machine
 * is refused before any model loads, naming the largest max_batch that fits; a batch that runs out
 * of memory anyway (a worker under an address-space limit, so onnxruntime's allocations fail for
 * real) fails at once with max_batch and the estimate; a model directory of older graphs is refused
 * with the command that rebuilds it.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateMemory, largestFittingBatch } from "../src/models/memory-estimate.js";
import { GRAPH_NAMES } from "../src/models/manifest.js";
import { syntheticDimensions, syntheticStageGraphs } from "../src/models/synthetic/synthetic-models.js";
import { checkDeviceMemory, slotEstimate } from "../src/worker/device-memory.js";
import type { Flux2PickScoreSpec } from "../src/domain/sweep.js";
import { importTinyFlux2, removeTempDirs, runCli, tempDir } from "./cli.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

const root = tempDir("sweep-memory-");
const models = path.join(root, "models");

function sweepYaml(name: string, lines: string[]): string {
  const file = path.join(root, `${name}.yaml`);
  writeFileSync(file, [
    `name: ${name}`,
    'prompts: ["sketch, a cat"]',
    "seeds: [0]",
    "budgets: [1]",
    "strategies:",
    "  - name: random",
    "evaluator:",
    "  kind: flux2-pickscore",
    "  model: flux2-tiny",
    "  precision: float32",
    "  retries: 0",
    ...lines.map((l) => `  ${l}`),
  ].join("\n"));
  return file;
}

beforeAll(async () => {
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  for (const reward of ["aesthetic", "clip"]) {
    const r = await runCli(["models", "import", "--reward", reward, "--synthetic", "tiny", "--out", path.join(models, `${reward}-tiny`)]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);

afterAll(() => {
  killAllWorkers();
  removeTempDirs();
});

describe("the estimate of the real model", () => {
  const graphs = syntheticStageGraphs("flux2-klein-4b", "bfloat16");
  const weights = Object.fromEntries(GRAPH_NAMES.map((g) => [g, graphs[g].weightBytes()])) as Record<(typeof GRAPH_NAMES)[number], number>;
  const dims = syntheticDimensions("flux2-klein-4b");
  const at = (size: number, batch: number) => estimateMemory(dims, weights, { precision: "bfloat16", height: size, width: size, batch }, "gpu");

  it("counts about 15 GB of bfloat16 weights (4B transformer, 27 Qwen3-4B layers, ViT-H CLIP)", () => {
    expect(at(1024, 1).weights / 2 ** 30).toBeGreaterThan(13);
    expect(at(1024, 1).weights / 2 ** 30).toBeLessThan(17);
  });

  it("grows linearly with tokens: fused attention keeps no score matrix", () => {
    // 4x the pixels: 4x the VAE, and the transformer's tokens 4x (its text tokens aside)
    const ratio = at(2048, 1).activations.transformer / at(1024, 1).activations.transformer;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(4.1);
    expect(at(2048, 1).activations.vae_decoder / at(1024, 1).activations.vae_decoder).toBeCloseTo(4, 1);
  });

  it("names the largest max_batch under a budget, consistently with the estimate", () => {
    const fits = largestFittingBatch(dims, weights, { precision: "bfloat16", height: 1024, width: 1024 }, "gpu", 1, 80e9);
    expect(fits).toBeGreaterThanOrEqual(4);
    expect(at(1024, fits).total).toBeLessThanOrEqual(80e9);
    expect(at(1024, fits + 1).total).toBeGreaterThan(80e9);
  });
});

describe("reward models beside the FLUX.2 model", () => {
  const cpu = { kind: "cpu", index: 0, intraOpThreads: 1 } as const;
  const spec = (precision: Flux2PickScoreSpec["precision"], more: Partial<Flux2PickScoreSpec> = {}): Flux2PickScoreSpec => ({
    kind: "flux2-pickscore", model: "flux2-tiny", model_dir: path.join(models, "flux2-tiny"), shape: [1, 128, 48, 48],
    height: 768, width: 768, steps: 4, score: "cosine", precision, max_batch: 2, ...more,
  });
  const checkpoint = (reward: string) => statSync(path.join(models, reward, "weights", "reward", "model.safetensors")).size;
  const objective = { reward: "aesthetic-tiny", reward_dir: path.join(models, "aesthetic-tiny") };

  it("count an objective reward's checkpoint in the compute type (float32 checkpoints: halved in float16)", () => {
    const plain = slotEstimate(spec("float32"), cpu)!;
    const withReward = slotEstimate(spec("float32", objective), cpu)!;
    expect(plain.rewardWeights).toBe(0);
    expect(withReward.rewardWeights).toBe(checkpoint("aesthetic-tiny"));
    expect(withReward.total - plain.total).toBe(checkpoint("aesthetic-tiny"));
    expect(slotEstimate(spec("float16", objective), cpu)!.rewardWeights).toBe(checkpoint("aesthetic-tiny") / 2);
  });

  it("refuse a spec that fits without its reward models, naming them; held-out rewards count too", () => {
    const fitsAlone = slotEstimate(spec("float32"), cpu)!.total;
    expect(() => checkDeviceMemory(spec("float32"), cpu, 1, { memory: fitsAlone })).not.toThrow();
    expect(() => checkDeviceMemory(spec("float32", objective), cpu, 1, { memory: fitsAlone })).toThrow(/weights [\d.]+ GB \(reward models [\d.]+ GB\)/);
    const withOne = fitsAlone + checkpoint("aesthetic-tiny");
    expect(() => checkDeviceMemory(spec("float32"), cpu, 1, { memory: withOne, heldoutDirs: [path.join(models, "aesthetic-tiny")] })).not.toThrow();
    expect(() => checkDeviceMemory(spec("float32"), cpu, 1, { memory: withOne, heldoutDirs: [path.join(models, "aesthetic-tiny"), path.join(models, "clip-tiny")] })).toThrow(/reward models/);
    // the objective also held out is one model, counted once
    expect(() => checkDeviceMemory(spec("float32", objective), cpu, 1, { memory: withOne, heldoutDirs: [objective.reward_dir] })).not.toThrow();
  });
});

describe("sweeps that cannot fit", () => {
  it("refuses a spec whose estimate exceeds this machine's memory before loading, naming the max_batch that fits (exit 2)", async () => {
    const file = sweepYaml("huge", ["height: 2048", "width: 2048", "max_batch: 64"]);
    const r = await runCli(["run", file, "--model-root", models, "--threads", "1", "--run-dir", path.join(root, "huge")], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/flux2-tiny at 2048x2048 in float32, max_batch 64: needs about [\d.]+ GB \(weights [\d.]+ GB, activations [\d.]+ GB\), this machine has [\d.]+ GB available: (the largest max_batch that fits is \d+|no max_batch fits)/);
  }, 120_000);

  it("fails a batch that runs out of memory at once, with max_batch and the estimate, not in halves", async () => {
    const worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--devices", "cpu", "--threads", "1", "--model-root", models], {}, ["prlimit", `--as=${3 * 2 ** 30}`]);
    const file = sweepYaml("oom", ["height: 1024", "width: 1024", "max_batch: 4", "steps: 1"]);
    const r = await runCli(["run", file, "--workers", worker.address, "--run-dir", path.join(root, "oom")], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/out of memory at max_batch 4, 1024x1024 float32 \(estimate [\d.]+ GB per device slot: weights [\d.]+ GB, activations [\d.]+ GB\): lower max_batch/);
    // one failed run of the padded batch, not a retry in halves of the same size
    expect(worker.stderr().match(/Failed to allocate memory|bad_alloc/g)?.length ?? 0).toBe(1);
    await worker.stop();
  }, 180_000);

  it("refuses a model directory of older graphs with the command that rebuilds them", async () => {
    const old = path.join(models, "flux2-old");
    await importTinyFlux2(old);
    const manifestFile = path.join(old, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    delete manifest.graph_version;
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const file = sweepYaml("old", ["height: 256", "width: 256", "max_batch: 1"]);
    writeFileSync(file, readFileSync(file, "utf8").replace("model: flux2-tiny", "model: flux2-old"));
    const r = await runCli(["run", file, "--model-root", models, "--threads", "1", "--run-dir", path.join(root, "old")], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/manifest\.json: graphs of an earlier sweep, this sweep builds version 2 .*run 'sweep models import' again for .*flux2-old/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
