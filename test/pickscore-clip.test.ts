import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { ModelInputError } from "../src/models/model-error.js";
import { buildClipTextGraph, buildClipVisionGraph, parseClipConfig, readLogitScale } from "../src/models/pickscore/clip-graphs.js";
import { Checkpoint } from "../src/models/safetensors.js";
import { builderFor, flux2Dir, float32Of, golden, loadTrace, readJson, relativeError, scratchDir, session, TRACES } from "./flux2-reference.js";

const modelDir = path.join(flux2Dir, "PickScore-tiny");
const configFile = path.join(modelDir, "config.json");
const cfg = parseClipConfig(readJson(configFile), configFile);
const dir = scratchDir();

const traces = TRACES.map((name) => ({ name, trace: loadTrace(name) }));
// golden cases are matched to traces by seed (trace_case{i}_seed{s})
const goldenOf = (name: string) => golden.cases.find((c) => c.seed === Number(/seed(\d+)$/.exec(name)![1]))!;

const visionSession = (() => {
  const b = builderFor(dir, "PickScore-tiny", "model", "clip_vision");
  buildClipVisionGraph(b, cfg);
  return session(b, dir, "clip_vision.onnx");
})();
const textSession = (() => {
  const b = builderFor(dir, "PickScore-tiny", "model", "clip_text");
  buildClipTextGraph(b, cfg);
  return session(b, dir, "clip_text.onnx");
})();

async function imageEmbeds(pixels: Float32Array, batch: number): Promise<Float32Array> {
  const s = await visionSession;
  const out = await s.run({ pixel_values: new ort.Tensor("float32", pixels, [batch, 3, 224, 224]) });
  return out.image_embeds.data as Float32Array;
}

async function textEmbeds(ids: BigInt64Array): Promise<Float32Array> {
  const s = await textSession;
  const out = await s.run({ input_ids: new ort.Tensor("int64", ids, [1, ids.length]) });
  return out.text_embeds.data as Float32Array;
}

/** The tutorial's score, text_embs @ image_embs.T, accumulated in float32 in index order. */
function cosine(text: Float32Array, image: Float32Array): number {
  let s = 0;
  for (let i = 0; i < text.length; i++) s = Math.fround(s + Math.fround(text[i] * image[i]));
  return s;
}

describe("PickScore CLIP towers", () => {
  it("reads the config (top-level projection_dim, legacy eos_token_id 2)", () => {
    expect(cfg.projectionDim).toBe(16);
    expect(cfg.text).toMatchObject({ hiddenSize: 32, numLayers: 2, numHeads: 4, eosTokenId: 2, hiddenAct: "gelu", maxPositions: 77 });
    expect(cfg.vision).toMatchObject({ hiddenSize: 32, imageSize: 224, patchSize: 14, numChannels: 3 });
  });

  it("rejects configs that are not CLIPModel or lack a field", () => {
    expect(() => parseClipConfig({ architectures: ["BertModel"], model_type: "bert" }, "c.json")).toThrow(/c\.json: .*expected a CLIPModel/);
    const json = readJson(configFile);
    delete json.vision_config.patch_size;
    expect(() => parseClipConfig(json, "c.json")).toThrow(ModelInputError);
    expect(() => parseClipConfig(json, "c.json")).toThrow(/c\.json: vision_config\.patch_size is missing; expected a positive integer/);
  });

  for (const { name, trace } of traces) {
    it(`${name}: embeddings and scores match the reference`, async () => {
      const image = await imageEmbeds(float32Of(trace, "pixel_values"), 1);
      const text = await textEmbeds(trace.get("clip_input_ids")!.data as BigInt64Array);
      const imageErr = relativeError(image, float32Of(trace, "image_embeds"));
      const textErr = relativeError(text, float32Of(trace, "text_embeds"));
      const g = goldenOf(name);
      const cos = cosine(text, image);
      const logit = Math.fround(Math.fround(Math.exp(readLogitScale(new Checkpoint(modelDir, "model")))) * cos);
      expect(imageErr).toBeLessThanOrEqual(1e-5);
      expect(textErr).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(cos - g.score_cosine)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(logit - g.score_logit) / Math.abs(g.score_logit)).toBeLessThanOrEqual(1e-4);
    });
  }

  it("pools at the first end-of-text token when eos_token_id is not the legacy 2", async () => {
    const b = builderFor(dir, "PickScore-tiny", "model", "clip_text_eos");
    buildClipTextGraph(b, { ...cfg, text: { ...cfg.text, eosTokenId: 491 } });
    const s = await session(b, dir, "clip_text_eos.onnx");
    const { trace } = traces[1];
    const ids = trace.get("clip_input_ids")!.data as BigInt64Array;
    const out = await s.run({ input_ids: new ort.Tensor("int64", ids, [1, ids.length]) });
    expect(relativeError(out.text_embeds.data as Float32Array, float32Of(trace, "text_embeds"))).toBeLessThanOrEqual(1e-5);
  });

  it("a batch of three images gives the rows of the single runs", async () => {
    const pixels = traces.map(({ trace }) => float32Of(trace, "pixel_values"));
    const stacked = new Float32Array(pixels.reduce((n, p) => n + p.length, 0));
    pixels.forEach((p, i) => stacked.set(p, i * p.length));
    const batch = await imageEmbeds(stacked, 3);
    for (let i = 0; i < 3; i++) {
      const single = await imageEmbeds(pixels[i], 1);
      expect(relativeError(batch.subarray(i * 16, (i + 1) * 16), single)).toBeLessThanOrEqual(1e-6);
    }
  });
});
