import { writeFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { parseImageRewardConfig, type ImageRewardConfig } from "../src/models/imagereward/imagereward-config.js";
import { buildImageRewardGraph } from "../src/models/imagereward/imagereward-graph.js";
import { readJson, relativeError, scratchDir } from "./flux2-reference.js";
import { imageRewardBuilder, imageRewardCases, imageRewardDir, loadTensors } from "./imagereward-reference.js";

const cfg = parseImageRewardConfig(readJson(path.join(imageRewardDir, "config.json")), "config.json");
const dir = scratchDir();
const images = loadTensors("images.safetensors");

async function open(config: ImageRewardConfig, trace: boolean): Promise<ort.InferenceSession> {
  const b = imageRewardBuilder(dir, "image_reward");
  buildImageRewardGraph(b, config, { trace });
  const file = path.join(dir, trace ? "image_reward_trace.onnx" : "image_reward.onnx");
  writeFileSync(file, b.encode());
  return ort.InferenceSession.create(file, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
}

const traced = open(cfg, true);
const TRACED = ["image_embeds", "text_last_hidden_state", "text_cls", "mlp_out0", "mlp_out2", "mlp_out4", "mlp_out6", "mlp_out7", "raw_reward"];

function inputs(pixels: Float32Array, batch: number, ids: BigInt64Array, mask: BigInt64Array): Record<string, ort.Tensor> {
  const rows = ids.length / 35;
  return {
    pixel_values: new ort.Tensor("float32", pixels, [batch, 3, 224, 224]),
    input_ids: new ort.Tensor("int64", ids, [rows, 35]),
    attention_mask: new ort.Tensor("int64", mask, [rows, 35]),
  };
}

describe("ImageReward graph (BLIP ViT + BERT cross-attention + MLP head) on the golden tiny weights", () => {
  for (const c of imageRewardCases) {
    it(`case ${c.case} (${c.image}): every traced intermediate to 1e-5 relative, score to 1e-5`, async () => {
      const trace = loadTensors(c.trace);
      const s = await traced;
      const pixels = images.get(c.pixel_values)!.data as Float32Array;
      const out = await s.run(inputs(pixels, 1, trace.get("input_ids")!.data as BigInt64Array, trace.get("attention_mask")!.data as BigInt64Array));
      for (const name of TRACED) {
        const expected = trace.get(name)!;
        expect(out[name].dims, name).toEqual(expected.shape);
        expect(relativeError(out[name].data as Float32Array, expected.data as Float32Array), name).toBeLessThanOrEqual(1e-5);
      }
      const score = (out.score.data as Float32Array)[0];
      expect((trace.get("score")!.data as Float32Array)[0]).toBe(c.score);
      expect(Math.abs(score - c.score) / Math.max(1, Math.abs(c.score))).toBeLessThanOrEqual(1e-5);
    });
  }

  it("one prompt scores a batch of images: each row as its single run", async () => {
    const s = await open(cfg, false);
    const trace = loadTensors(imageRewardCases[2].trace);
    const ids = trace.get("input_ids")!.data as BigInt64Array;
    const mask = trace.get("attention_mask")!.data as BigInt64Array;
    const pixels = imageRewardCases.map((c) => images.get(c.pixel_values)!.data as Float32Array);
    const stacked = new Float32Array(pixels.length * pixels[0].length);
    pixels.forEach((p, i) => stacked.set(p, i * p.length));
    const batch = (await s.run(inputs(stacked, pixels.length, ids, mask))).score.data as Float32Array;
    expect(batch.length).toBe(4);
    for (let i = 0; i < pixels.length; i++) {
      const single = ((await s.run(inputs(pixels[i], 1, ids, mask))).score.data as Float32Array)[0];
      expect(Math.abs(batch[i] - single)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(single)));
    }
    expect(Math.abs(batch[2] - imageRewardCases[2].score) / Math.max(1, Math.abs(imageRewardCases[2].score))).toBeLessThanOrEqual(1e-5);
  });

  it("a batch of (image, prompt) pairs gives each golden score", async () => {
    const s = await open(cfg, false);
    const traces = imageRewardCases.map((c) => loadTensors(c.trace));
    const cat = <T extends Float32Array | BigInt64Array>(parts: T[], make: (n: number) => T): T => {
      const out = make(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p as never, at);
        at += p.length;
      }
      return out;
    };
    const pixels = cat(imageRewardCases.map((c) => images.get(c.pixel_values)!.data as Float32Array), (n) => new Float32Array(n));
    const ids = cat(traces.map((t) => t.get("input_ids")!.data as BigInt64Array), (n) => new BigInt64Array(n));
    const mask = cat(traces.map((t) => t.get("attention_mask")!.data as BigInt64Array), (n) => new BigInt64Array(n));
    const scores = (await s.run(inputs(pixels, 4, ids, mask))).score.data as Float32Array;
    imageRewardCases.forEach((c, i) => expect(Math.abs(scores[i] - c.score) / Math.max(1, Math.abs(c.score))).toBeLessThanOrEqual(1e-5));
  });
});
