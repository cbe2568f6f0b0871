import { mkdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkImageRewardWeights,
  IMAGE_REWARD_DIMS,
  imageRewardConfigJson,
  imageRewardTensorShapes,
  parseImageRewardConfig,
} from "../src/models/imagereward/imagereward-config.js";
import { buildImageRewardGraph } from "../src/models/imagereward/imagereward-graph.js";
import { ModelInputError } from "../src/models/model-error.js";
import { GraphBuilder } from "../src/models/onnx/graph-builder.js";
import { Checkpoint, type TensorLocation } from "../src/models/safetensors.js";
import { readAllTensors, readJson, scratchDir, writeSafetensors } from "./flux2-reference.js";
import { imageRewardDir, rewardsDir } from "./imagereward-reference.js";
import { loadReference } from "./reference.js";

const configFile = path.join(imageRewardDir, "config.json");
const golden = loadReference("rewards/golden.json");
const dir = scratchDir();

/** The golden config with one change. */
function edited(edit: (json: any) => void): any {
  const json = readJson(configFile);
  edit(json);
  return json;
}

/** A copy of the golden weights with some tensors changed or dropped. */
function checkpointWith(name: string, edit: (tensors: ReturnType<typeof readAllTensors>) => ReturnType<typeof readAllTensors>): Checkpoint {
  const target = path.join(dir, name);
  mkdirSync(target, { recursive: true });
  writeSafetensors(path.join(target, "model.safetensors"), edit(readAllTensors(path.join(imageRewardDir, "model.safetensors"))));
  return new Checkpoint(target, "model");
}

describe("ImageReward config and weights", () => {
  const cfg = parseImageRewardConfig(readJson(configFile), configFile);

  it("reads the golden folder's config: tiny towers, real constants", () => {
    expect(cfg.vision).toEqual({ hiddenSize: 32, intermediateSize: 128, numLayers: 2, numHeads: 2, layerNormEps: 1e-6, imageSize: 224, patchSize: 16 });
    expect(cfg.text).toEqual({ hiddenSize: 32, intermediateSize: 128, numLayers: 2, numHeads: 2, layerNormEps: 1e-12, vocabSize: 322, maxPositions: 512, encoderHiddenSize: 32 });
    const c = golden.cases.find((x: any) => x.metric === "image_reward");
    expect(cfg.head).toEqual({ widths: [32, 1024, 128, 64, 16, 1], mean: c.score_mean, std: c.score_std, maxLength: 35 });
  });

  it("the golden weights pass the checks", () => {
    expect(() => checkImageRewardWeights(cfg, new Checkpoint(imageRewardDir, "model"), configFile)).not.toThrow();
  });

  it("the dimension descriptions give the golden tiny config and the real ImageReward's", () => {
    expect(parseImageRewardConfig(imageRewardConfigJson(IMAGE_REWARD_DIMS.tiny), "tiny.json")).toEqual(cfg);
    const real = parseImageRewardConfig(imageRewardConfigJson(IMAGE_REWARD_DIMS.real), "real.json");
    const dims = golden.metrics.image_reward.real_dims;
    const tower = (t: any) => ({ hiddenSize: t.hidden, intermediateSize: t.intermediate, numLayers: t.layers, numHeads: t.heads, layerNormEps: t.layer_norm_eps });
    expect(real.vision).toEqual({ ...tower(dims.vision), imageSize: dims.vision.image_size, patchSize: dims.vision.patch_size });
    expect(real.text).toEqual({ ...tower(dims.text), vocabSize: dims.text.vocab, maxPositions: dims.text.max_positions, encoderHiddenSize: dims.text.encoder_hidden_size });
  });

  it("the graph reads exactly the tensors the checks list, at real size too", () => {
    const real = parseImageRewardConfig(imageRewardConfigJson(IMAGE_REWARD_DIMS.real), "real.json");
    const asked = new Map<string, number[]>();
    const recorder = {
      get(name: string, shape?: number[]): TensorLocation {
        asked.set(name, shape!);
        return { name, dtype: "F32", shape: shape!, file: "model.safetensors", offset: 0, length: 0 };
      },
    };
    buildImageRewardGraph(new GraphBuilder({ name: "image_reward", compute: "float32", weights: recorder, location: (f) => f }), real, { trace: true });
    expect(asked).toEqual(imageRewardTensorShapes(real));
    expect(asked.get("blip.visual_encoder.pos_embed")).toEqual([1, 197, 1024]);
  });

  const refusals: [string, any, RegExp][] = [
    ["another reward's folder (CLIP)", readJson(path.join(rewardsDir, "ImageMetrics-tiny/CLIP-ViT-H-14-laion2B-s32B-b79K/config.json")), /"model_type" must be "blip" .*ImageReward.* \(got "clip"\)/],
    ["a missing tower", edited((j) => delete j.vision_config), /"vision_config" must be an object/],
    ["a missing size", edited((j) => delete j.text_config.hidden_size), /"text_config\.hidden_size" must be a positive integer \(got undefined\)/],
    ["heads that do not divide the width", edited((j) => (j.vision_config.num_attention_heads = 3)), /"vision_config\.num_attention_heads" must be a divisor of hidden_size 32 \(got 3\)/],
    ["another activation", edited((j) => (j.text_config.hidden_act = "quick_gelu")), /"text_config\.hidden_act" must be "gelu"/],
    ["a cross-attention width unlike the image's", edited((j) => (j.text_config.encoder_hidden_size = 64)), /"text_config\.encoder_hidden_size" must be the vision hidden_size 32/],
    ["another head", edited((j) => (j.image_reward.mlp = [32, 512, 1])), /"image_reward\.mlp" must be \[32,1024,128,64,16,1\]/],
    ["a float32 std that is not float32(std)", edited((j) => (j.image_reward.std_float32 = 1.5)), /"image_reward\.std_float32" must be float32\(std\)/],
  ];
  for (const [what, json, message] of refusals) {
    it(`refuses ${what} in one line naming the file`, () => {
      expect(() => parseImageRewardConfig(json, "ImageReward/config.json")).toThrow(ModelInputError);
      try {
        parseImageRewardConfig(json, "ImageReward/config.json");
      } catch (e) {
        expect((e as Error).message).toMatch(/^ImageReward\/config\.json: [^\n]+$/);
        expect((e as Error).message).toMatch(message);
      }
    });
  }

  it("refuses weights that disagree with the config: a width, a missing tensor, an extra layer, another head", () => {
    const wider = parseImageRewardConfig(edited((j) => (j.text_config.intermediate_size = 256)), configFile);
    const golden = new Checkpoint(imageRewardDir, "model");
    expect(() => checkImageRewardWeights(wider, golden, configFile)).toThrow(
      /tensor 'blip\.text_encoder\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[128, 32\]; the config implies \[256, 32\]/,
    );
    const shallow = parseImageRewardConfig(edited((j) => (j.vision_config.num_hidden_layers = 1)), configFile);
    expect(() => checkImageRewardWeights(shallow, golden, configFile)).toThrow(/has blip\.visual_encoder\.blocks\.1\.\* but .*config\.json says vision_config\.num_hidden_layers = 1/);
    const missing = checkpointWith("missing", (ts) => ts.filter((t) => t.name !== "blip.text_encoder.encoder.layer.1.crossattention.self.key.bias"));
    expect(() => checkImageRewardWeights(cfg, missing, configFile)).toThrow(/tensor 'blip\.text_encoder\.encoder\.layer\.1\.crossattention\.self\.key\.bias' is missing/);
    const extraHead = checkpointWith("extra-head", (ts) => [...ts, { ...ts.find((t) => t.name === "mlp.layers.7.bias")!, name: "mlp.layers.8.bias" }]);
    expect(() => checkImageRewardWeights(cfg, extraHead, configFile)).toThrow(/mlp\.layers has Linear layers \[0,2,4,6,7,8\]/);
  });
});
