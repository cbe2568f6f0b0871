/**
 * The checkpoints users have store bfloat16 weights, the text encoder in shards. The golden
 * checkpoint converted both ways (weights rounded to bfloat16, split into shards with an index)
 * must score exactly as a float32 checkpoint holding the same rounded values.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, expect, test } from "vitest";
import { Flux2Models } from "../src/evaluators/flux2-pickscore/model-sessions.js";
import { Flux2PickScorePipeline } from "../src/evaluators/flux2-pickscore/pipeline.js";
import { importModels } from "../src/models/import-models.js";
import { readManifest } from "../src/models/manifest.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import { flux2Dir, golden, readAllTensors, scratchDir, writeSafetensors, type RawTensor } from "./flux2-reference.js";

const dir = scratchDir();
const FILES: [string, string][] = [
  ["FLUX.2-klein-tiny/text_encoder", "model"],
  ["FLUX.2-klein-tiny/transformer", "diffusion_pytorch_model"],
  ["FLUX.2-klein-tiny/vae", "diffusion_pytorch_model"],
  ["PickScore-tiny", "model"],
];

/** float32 bytes -> the same values rounded to bfloat16 (nearest even), as bfloat16 or as float32 bytes. */
function roundToBf16(t: RawTensor): { bf16: RawTensor; f32: RawTensor } {
  if (t.dtype !== "F32") return { bf16: t, f32: t };
  const src = new Uint32Array(t.data.slice().buffer);
  const bf = new Uint16Array(src.length);
  const widened = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    const r = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    bf[i] = r;
    widened[i] = r << 16;
  }
  return { bf16: { ...t, dtype: "BF16", data: new Uint8Array(bf.buffer) }, f32: { ...t, data: new Uint8Array(widened.buffer) } };
}

/** A copy of the golden source folders with every checkpoint rewritten: bfloat16 sharded, or float32 rounded. */
function convert(kind: "bf16-sharded" | "f32-rounded"): string {
  const root = path.join(dir, kind);
  cpSync(flux2Dir, root, { recursive: true, filter: (src) => !src.endsWith(".safetensors") || !src.includes("trace_") });
  for (const [folder, stem] of FILES) {
    const target = path.join(root, folder);
    const tensors = readAllTensors(path.join(flux2Dir, folder, `${stem}.safetensors`)).map(roundToBf16);
    rmSync(path.join(target, `${stem}.safetensors`), { force: true });
    if (kind === "f32-rounded") {
      writeSafetensors(path.join(target, `${stem}.safetensors`), tensors.map((t) => t.f32));
      continue;
    }
    const half = Math.ceil(tensors.length / 2);
    const shards = [tensors.slice(0, half), tensors.slice(half)].map((part, i) => ({ file: `${stem}-0000${i + 1}-of-00002.safetensors`, part }));
    const weightMap: Record<string, string> = {};
    for (const s of shards) {
      writeSafetensors(path.join(target, s.file), s.part.map((t) => t.bf16));
      for (const t of s.part) weightMap[t.bf16.name] = s.file;
    }
    writeFileSync(path.join(target, `${stem}.safetensors.index.json`), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return root;
}

async function importAndScore(src: string, out: string): Promise<number[]> {
  mkdirSync(path.dirname(out), { recursive: true });
  await importModels({ flux2: path.join(src, "FLUX.2-klein-tiny"), pickscore: path.join(src, "PickScore-tiny"), processor: path.join(src, "CLIP-processor-tiny"), out });
  const pipeline = new Flux2PickScorePipeline(await Flux2Models.open(out, "float32", { kind: "cpu", index: 0, intraOpThreads: 1 }));
  const scores: number[] = [];
  for (const c of golden.cases.filter((g) => g.height <= 192)) {
    const noise = torchRandn(c.seed, 128 * (c.height / 16) * (c.width / 16));
    scores.push((await pipeline.scoreBatch(c.prompt, [noise], { height: c.height, width: c.width, steps: 4, score: "cosine", maxBatch: 1 }))[0].score);
  }
  return scores;
}

let bf16: number[];
let f32: number[];
beforeAll(async () => {
  bf16 = await importAndScore(convert("bf16-sharded"), path.join(dir, "models", "bf16"));
  f32 = await importAndScore(convert("f32-rounded"), path.join(dir, "models", "f32"));
}, 120_000);

test("bfloat16 shards score exactly as float32 weights of the same values", () => {
  expect(bf16).toEqual(f32);
  // rounding the weights moves the scores, so the comparison is not vacuous
  const reference = golden.cases.filter((g) => g.height <= 192).map((g) => g.score_cosine);
  expect(Math.max(...f32.map((s, i) => Math.abs(s - reference[i])))).toBeGreaterThan(1e-5);
});

test("the manifest of the bfloat16 import records its dtype and every shard", () => {
  const manifest = readManifest(path.join(dir, "models", "bf16"));
  expect(manifest.weights_dtype).toBe("bfloat16");
  expect(manifest.sources.text_encoder.files.map((f) => f.path)).toEqual([
    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
  ]);
  expect(manifest.files.some((f) => f.path === "weights/text_encoder/model.safetensors.index.json")).toBe(true);
});
