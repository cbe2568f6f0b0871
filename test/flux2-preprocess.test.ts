/** Tokenisers, VAE output -> uint8 and CLIP preprocessing against the FLUX.2 + PickScore golden traces. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clipPixelValues } from "../src/evaluators/flux2-pickscore/clip-preprocess.js";
import { parseClipPreprocessorConfig } from "../src/models/pickscore/clip-preprocessor-config.js";
import { decodedToUint8 } from "../src/evaluators/flux2-pickscore/image-convert.js";
import { loadClipTokenizer, loadQwenPromptTokenizer } from "../src/evaluators/flux2-pickscore/prompt-tokens.js";
import * as ort from "onnxruntime-node";
import { ModelInputError } from "../src/models/model-error.js";
import { GraphBuilder } from "../src/models/onnx/graph-builder.js";
import { clipPreprocess } from "../src/models/pickscore/clip-preprocess-graph.js";
import { TRACES, float32Of, flux2Dir, golden, loadTrace, type TraceTensor } from "./flux2-reference.js";

const qwenDir = path.join(flux2Dir, "FLUX.2-klein-tiny", "tokenizer");
const clipDir = path.join(flux2Dir, "CLIP-processor-tiny");

// The traced cases in TRACES order: (case, seed) pairs 0/0, 1/3, 2/4.
const traced = TRACES.map((name) => {
  const [, c, s] = /case(\d+)_seed(\d+)/.exec(name)!;
  const g = golden.cases.find((x) => x.case === Number(c) && x.seed === Number(s));
  if (!g) throw new Error(`golden.json has no case ${c} seed ${s}`);
  return { name, golden: g, trace: loadTrace(name) };
});

function int64Of(t: Map<string, TraceTensor>, key: string): BigInt64Array {
  const v = t.get(key);
  if (!v || !(v.data instanceof BigInt64Array)) throw new Error(`trace has no int64 tensor ${key}`);
  return v.data;
}

function uint8Of(t: Map<string, TraceTensor>, key: string): { dims: number[]; data: Uint8Array } {
  const v = t.get(key);
  if (!v || !(v.data instanceof Uint8Array)) throw new Error(`trace has no uint8 tensor ${key}`);
  return { dims: v.dims, data: v.data };
}

function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sweep-preprocess-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const longPrompt = Array.from({ length: 700 }, (_, i) => ["a", "cat", "sketch", "lighthouse", "dawn"][i % 5]).join(" ");

describe("Qwen prompt tokens", () => {
  const tok = loadQwenPromptTokenizer(qwenDir);

  it.each(traced)("$name: ids, mask and chat text equal the reference", ({ golden: g, trace }) => {
    const enc = tok.encode(g.prompt);
    expect(enc.chatText).toBe(g.chat_text);
    expect(Array.from(enc.inputIds)).toEqual(Array.from(int64Of(trace, "qwen_input_ids")));
    expect(Array.from(enc.attentionMask)).toEqual(Array.from(int64Of(trace, "qwen_attention_mask")));
    expect(enc.truncated).toBe(false);
  });

  it("truncates a long prompt to 512 tokens and says so", () => {
    const enc = tok.encode(longPrompt);
    expect(enc.truncated).toBe(true);
    expect(enc.inputIds.length).toBe(512);
    expect(enc.attentionMask.every((m) => m === 1n)).toBe(true);
    // Right truncation keeps the start of the chat text (50 words are well over 40 tokens).
    const short = tok.encode(longPrompt.split(" ").slice(0, 50).join(" "));
    expect(short.truncated).toBe(false);
    expect(Array.from(enc.inputIds.slice(0, 40))).toEqual(Array.from(short.inputIds.slice(0, 40)));
  });

  it("reads the chat template from tokenizer_config.json when there is no chat_template.jinja", () => {
    const dir = scratch();
    const config = JSON.parse(readFileSync(path.join(qwenDir, "tokenizer_config.json"), "utf8"));
    config.chat_template = readFileSync(path.join(qwenDir, "chat_template.jinja"), "utf8");
    writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(config));
    copyFileSync(path.join(qwenDir, "tokenizer.json"), path.join(dir, "tokenizer.json"));
    const enc = loadQwenPromptTokenizer(dir).encode(traced[0].golden.prompt);
    expect(Array.from(enc.inputIds)).toEqual(Array.from(int64Of(traced[0].trace, "qwen_input_ids")));
  });

  it("names the missing file", () => {
    const dir = scratch();
    copyFileSync(path.join(qwenDir, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
    copyFileSync(path.join(qwenDir, "chat_template.jinja"), path.join(dir, "chat_template.jinja"));
    expect(() => loadQwenPromptTokenizer(dir)).toThrow(ModelInputError);
    expect(() => loadQwenPromptTokenizer(dir)).toThrow(path.join(dir, "tokenizer.json"));
    expect(() => loadQwenPromptTokenizer(path.join(dir, "nowhere"))).toThrow("tokenizer_config.json");
  });
});

describe("CLIP prompt tokens", () => {
  const tok = loadClipTokenizer(clipDir);

  it.each(traced)("$name: ids equal the reference", ({ golden: g, trace }) => {
    const enc = tok.encode(g.prompt);
    expect(Array.from(enc.inputIds)).toEqual(Array.from(int64Of(trace, "clip_input_ids")));
    expect(enc.truncated).toBe(false);
  });

  it("truncates a long prompt to start + 75 tokens + end", () => {
    const enc = tok.encode(longPrompt);
    const ref = int64Of(traced[0].trace, "clip_input_ids");
    expect(enc.truncated).toBe(true);
    expect(enc.inputIds.length).toBe(77);
    expect(enc.inputIds[0]).toBe(ref[0]);
    expect(enc.inputIds[76]).toBe(ref[ref.length - 1]);
  });

  it("names the missing file", () => {
    expect(() => loadClipTokenizer(path.join(clipDir, "nowhere"))).toThrow(ModelInputError);
  });
});

/** Values differing, and the largest difference, in units of `unit`. */
function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, unit: (i: number) => number = () => 1) {
  expect(actual.length).toBe(expected.length);
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / unit(i);
    if (d > 0) count++;
    worst = Math.max(worst, d);
  }
  return { fraction: count / expected.length, worst };
}

describe("VAE output -> uint8 image", () => {
  it.each(traced.slice(0, 2))("$name: equals image_uint8", ({ golden: g, trace }) => {
    const image = uint8Of(trace, "image_uint8");
    expect(image.dims).toEqual([g.height, g.width, 3]);
    const ours = decodedToUint8(float32Of(trace, "vae_out"), g.height, g.width);
    // Exact: the criterion would allow 0.1% of values off by one level.
    expect(mismatch(ours, image.data)).toEqual({ fraction: 0, worst: 0 });
  });
});

describe("CLIP pixel values", () => {
  const cfgFile = path.join(clipDir, "preprocessor_config.json");
  const cfg = parseClipPreprocessorConfig(JSON.parse(readFileSync(cfgFile, "utf8")), cfgFile);

  it("parses the processor config", () => {
    expect(cfg.size).toBe(224);
    expect(cfg.cropSize).toEqual({ height: 224, width: 224 });
    expect(parseClipPreprocessorConfig({ size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 } }, "p.json")).toEqual(cfg);
    expect(() => parseClipPreprocessorConfig({ ...cfg, resample: 2 }, "p.json")).toThrow(/p\.json: resample/);
    expect(() => parseClipPreprocessorConfig({ size: { height: 1, width: 2 } }, "p.json")).toThrow(/size/);
    expect(() => parseClipPreprocessorConfig({ crop_size: "x" }, "p.json")).toThrow(ModelInputError);
  });

  // Upscaling 128 -> 224, non-square 128x192 -> 224x336 then cropped, downscaling 1024 -> 224.
  it.each(traced)("$name: equals pixel_values", ({ golden: g, trace }) => {
    const ours = clipPixelValues(uint8Of(trace, "image_uint8").data, g.height, g.width, cfg);
    const plane = 224 * 224;
    // Exact, bit for bit: the criterion would allow 0.1% of values off by one uint8 level (1/255/std).
    const m = mismatch(ours, float32Of(trace, "pixel_values"), (i) => 1 / 255 / cfg.std[Math.floor(i / plane)]);
    expect(m).toEqual({ fraction: 0, worst: 0 });
  });

  // The batch graph's in-graph preprocessing (float64 integer accumulation), run by onnxruntime.
  it.each(traced)("$name: the graph's preprocessing equals pixel_values bit for bit", async ({ golden: g, trace }) => {
    const noWeights = { get: (): never => { throw new Error("no weights"); } };
    const b = new GraphBuilder({ name: "clip_preprocess", compute: "float32", weights: noWeights, location: () => "" });
    const image = b.input("image", "uint8", [2, 3, g.height, g.width]);
    b.output(clipPreprocess(b, image, g.height, g.width, cfg), "pixel_values", "float32", [2, 3, 224, 224]);
    const session = await ort.InferenceSession.create(b.encode(), { executionProviders: ["cpu"] });
    const hwc = uint8Of(trace, "image_uint8").data;
    const plane = g.height * g.width;
    const chw = new Uint8Array(2 * 3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = chw[3 * plane + c * plane + p] = hwc[p * 3 + c];
    const out = (await session.run({ image: new ort.Tensor("uint8", chw, [2, 3, g.height, g.width]) })).pixel_values.data as Float32Array;
    const expected = float32Of(trace, "pixel_values");
    // both rows of the batch, every value to the bit
    expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.concat([Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)]))).toBe(true);
  });
});
