import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClipTokenizer, loadQwenPromptTokenizer } from "../src/evaluators/flux2-pickscore/prompt-tokens.js";
import { imageIds, ropeTables, textIds } from "../src/models/flux2/rope.js";
import { readManifest, type ModelManifest } from "../src/models/manifest.js";
import { ModelInputError } from "../src/models/model-error.js";
import { importSyntheticModels, plannedTensors } from "../src/models/synthetic/synthetic-models.js";

const root = mkdtempSync(path.join(os.tmpdir(), "sweep-synthetic-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PROMPT = "sketch, a cat";

function expectFinite(values: ArrayLike<number>): void {
  let bad = 0;
  let sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) bad++;
    sumSq += values[i] * values[i];
  }
  expect(bad).toBe(0);
  expect(sumSq).toBeGreaterThan(0);
}

/** Seeded standard normal values (Box-Muller over a small LCG): test inputs only. */
function normals(n: number, seed: number): Float32Array {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()));
}

describe("synthetic flux2-tiny", () => {
  const out = path.join(root, "tiny");
  let manifest: ModelManifest;
  const sessions: Record<string, ort.InferenceSession> = {};
  /** graphs onnxruntime parsed but has no CPU kernels for (bfloat16 ones: CUDA only) */
  const cudaOnly: string[] = [];

  beforeAll(async () => {
    manifest = await importSyntheticModels("flux2-tiny", out, () => {});
    for (const [precision, graphs] of Object.entries(manifest.graphs)) {
      for (const [name, g] of Object.entries(graphs)) {
        try {
          sessions[`${precision}/${name}`] = await ort.InferenceSession.create(path.join(out, g.file));
        } catch (e) {
          if (precision !== "bfloat16" || !/Could not find an implementation/.test((e as Error).message)) throw e;
          cudaOnly.push(`${precision}/${name}`);
        }
      }
    }
  });
  afterAll(async () => {
    for (const s of Object.values(sessions)) await s.release();
  });

  it("is a model directory marked synthetic, and the temporary sources are gone", () => {
    expect(manifest.synthetic).toBe("flux2-tiny");
    expect(manifest.weights_dtype).toBe("float32");
    expect(readManifest(out)).toEqual(manifest);
    expect(manifest.constants.logit_scale).toBeCloseTo(4.6052, 5);
    expect(readdirSync(root)).toEqual(["tiny"]);
  });

  it("opens every graph in onnxruntime (on the CPU, those it has kernels for)", () => {
    expect(Object.keys(sessions)).toContain("float32/transformer");
    expect(Object.keys(sessions).length + cudaOnly.length).toBe(Object.values(manifest.graphs).reduce((n, g) => n + Object.keys(g).length, 0));
  });

  it("has tokenizers that encode a prompt byte by byte and round-trip it", () => {
    const dir = path.join(out, manifest.tokenizers.clip);
    const clip = new Tokenizer(JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")));
    const ids = Array.from(loadClipTokenizer(dir).encode(PROMPT).inputIds, Number);
    expect(ids.map((id) => clip.id_to_token(id))).toEqual(["<|startoftext|>", "s", "k", "e", "t", "c", "h</w>", ",</w>", "a</w>", "c", "a", "t</w>", "<|endoftext|>"]);

    const qwenDir = path.join(out, manifest.tokenizers.text);
    const qwen = new Tokenizer(JSON.parse(readFileSync(path.join(qwenDir, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(path.join(qwenDir, "tokenizer_config.json"), "utf8")));
    const enc = loadQwenPromptTokenizer(qwenDir).encode(PROMPT);
    expect(enc.chatText).toBe(`<|im_start|>user\n${PROMPT}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`);
    const length = enc.attentionMask.reduce((n, m) => n + Number(m), 0);
    const tokens = Array.from(enc.inputIds.slice(0, length), Number);
    expect(qwen.decode(tokens)).toBe(enc.chatText);
    expect(tokens.slice(0, 3).map((id) => qwen.id_to_token(id))).toEqual(["<|im_start|>", "u", "s"]);
    // right-padded with <|endoftext|>
    expect(Number(enc.inputIds[length])).toBe(qwen.token_to_id("<|endoftext|>"));
  });

  it("runs the whole pipeline's graphs to finite outputs", async () => {
    const qwen = loadQwenPromptTokenizer(path.join(out, manifest.tokenizers.text)).encode(PROMPT);
    const text = await sessions["float32/text_encoder"].run({
      input_ids: new ort.Tensor("int64", qwen.inputIds, [1, 512]),
      attention_mask: new ort.Tensor("int64", qwen.attentionMask, [1, 512]),
    });
    expect(text.prompt_embeds.dims).toEqual([1, 512, 96]);
    expectFinite(text.prompt_embeds.data as Float32Array);

    const [rows, cols] = [4, 6];
    const rope = ropeTables([...textIds(512), ...imageIds(rows, cols)], manifest.constants.rope_axes, manifest.constants.rope_theta);
    const joint = 512 + rows * cols;
    const velocity = await sessions["float32/transformer"].run({
      latents: new ort.Tensor("float32", normals(rows * cols * 128, 1), [1, rows * cols, 128]),
      timestep: new ort.Tensor("float32", Float32Array.of(0.9), [1]),
      prompt_embeds: text.prompt_embeds,
      rope_cos: new ort.Tensor("float32", rope.cos, [joint, 16]),
      rope_sin: new ort.Tensor("float32", rope.sin, [joint, 16]),
    });
    expectFinite(velocity.velocity.data as Float32Array);

    const image = await sessions["float32/vae_decoder"].run({ latents: new ort.Tensor("float32", normals(128 * rows * cols, 2), [1, 128, rows, cols]) });
    expect(image.image.dims).toEqual([1, 3, 16 * rows, 16 * cols]);
    expectFinite(image.image.data as Float32Array);

    const vision = await sessions["float32/clip_vision"].run({ pixel_values: new ort.Tensor("float32", normals(3 * 224 * 224, 3), [1, 3, 224, 224]) });
    const clipIds = loadClipTokenizer(path.join(out, manifest.tokenizers.clip)).encode(PROMPT).inputIds;
    const clipText = await sessions["float32/clip_text"].run({ input_ids: new ort.Tensor("int64", clipIds, [1, clipIds.length]) });
    for (const e of [vision.image_embeds, clipText.text_embeds]) {
      const v = e.data as Float32Array;
      expectFinite(v);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
  });

  it("writes the same files on every import", async () => {
    const again = await importSyntheticModels("flux2-tiny", path.join(root, "tiny-again"), () => {});
    expect(again.files).toEqual(manifest.files);
    expect(again.files.filter((f) => f.path.startsWith("weights/")).length).toBeGreaterThanOrEqual(4);
    rmSync(path.join(root, "tiny-again"), { recursive: true });
  });

  it("leaves nothing behind when the import fails", async () => {
    const dir = mkdtempSync(path.join(root, "fail-"));
    mkdirSync(path.join(dir, "exists"));
    await expect(importSyntheticModels("flux2-tiny", path.join(dir, "exists"), () => {})).rejects.toThrow(ModelInputError);
    writeFileSync(path.join(dir, "file"), "");
    await expect(importSyntheticModels("flux2-tiny", path.join(dir, "file", "model"), () => {})).rejects.toThrow(/ENOTDIR/);
    expect(readdirSync(dir).sort()).toEqual(["exists", "file"]);
    expect(readdirSync(path.join(dir, "exists"))).toEqual([]);
    rmSync(dir, { recursive: true });
  });
});

describe("synthetic flux2-klein-4b", () => {
  it("plans the real sizes without writing them", () => {
    const plan = plannedTensors("flux2-klein-4b");
    const all = Object.values(plan).flat();
    const params = all.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(params).toBeGreaterThan(8e9);
    expect(params).toBeLessThan(1.1e10);
    const shape = (component: keyof typeof plan, name: string) => plan[component].find((t) => t.name === name)?.shape;
    expect(shape("transformer", "x_embedder.weight")).toEqual([3072, 128]);
    expect(shape("transformer", "context_embedder.weight")).toEqual([3072, 7680]);
    expect(shape("transformer", "single_transformer_blocks.19.attn.to_qkv_mlp_proj.weight")).toEqual([3 * 3072 + 2 * 9216, 3072]);
    expect(shape("text_encoder", "model.embed_tokens.weight")).toEqual([151936, 2560]);
    expect(shape("text_encoder", "model.layers.26.self_attn.k_proj.weight")).toEqual([1024, 2560]);
    // hidden state 27 is the deepest the pipeline reads: later layers are not written
    expect(shape("text_encoder", "model.layers.27.self_attn.k_proj.weight")).toBeUndefined();
    expect(shape("vae", "decoder.conv_in.weight")).toEqual([512, 32, 3, 3]);
    expect(shape("pickscore", "vision_model.embeddings.position_embedding.weight")).toEqual([257, 1280]);
    expect(shape("pickscore", "text_projection.weight")).toEqual([1024, 1024]);
    const dtypes = new Map(all.map((t) => [t.name, t.dtype]));
    expect(dtypes.get("logit_scale")).toBe("F32");
    expect(dtypes.get("bn.num_batches_tracked")).toBe("I64");
    expect(all.filter((t) => t.dtype !== "BF16").length).toBe(2);
  });
});
