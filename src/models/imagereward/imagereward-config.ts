/**
 * ImageReward's model folder (DiffSynth-Studio/ImageMetrics/ImageReward): config.json (a BlipConfig,
 * plus an `image_reward` block with the MLP head, mean and std) and model.safetensors in the original
 * ImageReward.pt keys (blip.visual_encoder.*, blip.text_encoder.*, mlp.layers.*). The graphs read those
 * keys as they are, so nothing is renamed. Every dimension is cross-checked against the weights.
 */
import { configFields } from "../config-fields.js";
import { ModelInputError } from "../model-error.js";
import type { Checkpoint } from "../safetensors.js";

/** BLIP's ViT (timm VisionTransformer layout): pre-LN blocks, exact GELU, a final norm on every token. */
export interface ImageRewardVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  imageSize: number;
  patchSize: number;
}

/** BLIP's BERT text encoder: post-LN layers of self-attention, cross-attention to the image, FFN. */
export interface ImageRewardTextConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  /** rows of word_embeddings: the tokenizer's vocabulary plus [DEC] and [ENC] */
  vocabSize: number;
  maxPositions: number;
  /** the width of the image embeddings the cross-attention reads (the vision hidden size) */
  encoderHiddenSize: number;
}

export interface ImageRewardHeadConfig {
  /** widths of mlp.layers 0, 2, 4, 6, 7: text hidden -> 1024 -> 128 -> 64 -> 16 -> 1 */
  widths: number[];
  /** score = (raw - mean) / std, both float32 */
  mean: number;
  std: number;
  /** the tokenizer call's max_length */
  maxLength: number;
}

export interface ImageRewardConfig {
  vision: ImageRewardVisionConfig;
  text: ImageRewardTextConfig;
  head: ImageRewardHeadConfig;
}

/** ImageReward-v1.0's constants (ImageReward.py: mean 0.16717362830052426, std 1.0333394966054072; BLIP's max_length 35). */
export const IMAGE_REWARD_MEAN = 0.16717362830052426;
export const IMAGE_REWARD_STD = 1.0333394966054072;
export const IMAGE_REWARD_TEXT_LENGTH = 35;
/** The pixels' normalisation: ImageReward's transform uses the OpenAI CLIP mean and std. */
export const IMAGE_REWARD_PIXEL_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const IMAGE_REWARD_PIXEL_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** mlp.layers' Linear indices (1, 3, 5 are dropouts; there are no activations) */
export const MLP_LAYER_INDICES = [0, 2, 4, 6, 7] as const;
const MLP_WIDTHS = [1024, 128, 64, 16, 1];

/** The sizes that differ between ImageReward models: what a synthetic model needs. */
export interface ImageRewardDims {
  vision: { hidden: number; intermediate: number; layers: number; heads: number };
  /** vocab: word_embeddings rows, the WordPiece vocabulary plus [DEC] and [ENC] */
  text: { hidden: number; intermediate: number; layers: number; heads: number; vocab: number };
}

export const IMAGE_REWARD_DIMS = {
  /** ImageReward-v1.0: BLIP ViT-L/16 and BERT-base (bert-base-uncased's 30522 word pieces + [DEC], [ENC]) */
  real: { vision: { hidden: 1024, intermediate: 4096, layers: 24, heads: 16 }, text: { hidden: 768, intermediate: 3072, layers: 12, heads: 12, vocab: 30524 } },
  /** the golden tiny model (reference/rewards/ImageMetrics-tiny/ImageReward) */
  tiny: { vision: { hidden: 32, intermediate: 128, layers: 2, heads: 2 }, text: { hidden: 32, intermediate: 128, layers: 2, heads: 2, vocab: 322 } },
} as const satisfies Record<string, ImageRewardDims>;

const IMAGE_SIZE = 224;
const PATCH_SIZE = 16;
const VISION_EPS = 1e-6;
const TEXT_EPS = 1e-12;
const TEXT_POSITIONS = 512;

/** config.json of an ImageReward folder at these dimensions, in the layout the golden folder has. */
export function imageRewardConfigJson(d: ImageRewardDims): object {
  return {
    model_type: "blip",
    image_text_hidden_size: 256,
    projection_dim: 256,
    image_reward: {
      image_size: IMAGE_SIZE,
      max_length: IMAGE_REWARD_TEXT_LENGTH,
      mean: IMAGE_REWARD_MEAN,
      mean_float32: Math.fround(IMAGE_REWARD_MEAN),
      mlp: [d.text.hidden, ...MLP_WIDTHS],
      std: IMAGE_REWARD_STD,
      std_float32: Math.fround(IMAGE_REWARD_STD),
    },
    text_config: {
      model_type: "blip_text_model",
      add_cross_attention: true,
      is_decoder: true,
      encoder_hidden_size: d.vision.hidden,
      hidden_act: "gelu",
      hidden_size: d.text.hidden,
      intermediate_size: d.text.intermediate,
      layer_norm_eps: TEXT_EPS,
      max_position_embeddings: TEXT_POSITIONS,
      num_attention_heads: d.text.heads,
      num_hidden_layers: d.text.layers,
      vocab_size: d.text.vocab,
    },
    vision_config: {
      model_type: "blip_vision_model",
      hidden_act: "gelu",
      hidden_size: d.vision.hidden,
      image_size: IMAGE_SIZE,
      intermediate_size: d.vision.intermediate,
      layer_norm_eps: VISION_EPS,
      num_attention_heads: d.vision.heads,
      num_hidden_layers: d.vision.layers,
      patch_size: PATCH_SIZE,
    },
  };
}

type Json = Record<string, unknown>;

/** A section of config.json read field by field; `where` prefixes the field in messages. */
function section(json: Json, key: string, file: string) {
  const value = json[key];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ModelInputError(`${file}: "${key}" must be an object (a BlipConfig's ${key}), got ${JSON.stringify(value ?? null)}`);
  }
  const f = configFields(value, file);
  const name = (field: string) => `${key}.${field}`;
  const positiveInt = (field: string, fallback?: number): number => {
    const v = f.c[field] ?? fallback;
    return Number.isInteger(v) && (v as number) > 0 ? (v as number) : f.fail(name(field), "a positive integer", f.c[field]);
  };
  const positive = (field: string, fallback: number): number => {
    const v = f.c[field] ?? fallback;
    return typeof v === "number" && v > 0 ? v : f.fail(name(field), "a positive number", f.c[field]);
  };
  const gelu = (): void => {
    const act = f.c.hidden_act ?? "gelu";
    if (act !== "gelu") f.fail(name("hidden_act"), '"gelu" (ImageReward\'s BLIP uses the exact GELU)', act);
  };
  const heads = (hidden: number): number => {
    const n = positiveInt("num_attention_heads");
    if (hidden % n !== 0) f.fail(name("num_attention_heads"), `a divisor of hidden_size ${hidden}`, n);
    return n;
  };
  /** The fields both towers have: GELU, widths, layers, heads, LayerNorm's eps. */
  const tower = (eps: number) => {
    gelu();
    const hiddenSize = positiveInt("hidden_size");
    return {
      hiddenSize,
      intermediateSize: positiveInt("intermediate_size"),
      numLayers: positiveInt("num_hidden_layers"),
      numHeads: heads(hiddenSize),
      layerNormEps: positive("layer_norm_eps", eps),
    };
  };
  return { f, positiveInt, tower };
}

/**
 * config.json -> ImageRewardConfig. Fields a real BlipConfig may leave out default to ImageReward's
 * values (eps 1e-6 / 1e-12, 224 pixels, patch 16, 512 positions, the mean/std above), not to
 * transformers' BlipConfig defaults, which describe another model.
 */
export function parseImageRewardConfig(json: unknown, file: string): ImageRewardConfig {
  const root = configFields(json, file);
  if (root.c.model_type !== "blip") {
    root.fail("model_type", '"blip" (an ImageReward folder, DiffSynth-Studio/ImageMetrics/ImageReward)', root.c.model_type ?? null);
  }
  const v = section(root.c, "vision_config", file);
  const vision: ImageRewardVisionConfig = {
    ...v.tower(VISION_EPS),
    imageSize: v.positiveInt("image_size", IMAGE_SIZE),
    patchSize: v.positiveInt("patch_size", PATCH_SIZE),
  };
  if (vision.imageSize % vision.patchSize !== 0) v.f.fail("vision_config.patch_size", `a divisor of image_size ${vision.imageSize}`, vision.patchSize);

  const vHidden = vision.hiddenSize;
  const t = section(root.c, "text_config", file);
  const text: ImageRewardTextConfig = {
    ...t.tower(TEXT_EPS),
    vocabSize: t.positiveInt("vocab_size"),
    maxPositions: t.positiveInt("max_position_embeddings", TEXT_POSITIONS),
    encoderHiddenSize: t.positiveInt("encoder_hidden_size", vHidden),
  };
  if (text.encoderHiddenSize !== vHidden) {
    t.f.fail("text_config.encoder_hidden_size", `the vision hidden_size ${vHidden} (the cross-attention reads the image embeddings)`, text.encoderHiddenSize);
  }

  const ir = root.c.image_reward ?? {};
  if (typeof ir !== "object" || ir === null || Array.isArray(ir)) root.fail("image_reward", "an object (the head's mlp, mean, std, max_length)", ir);
  const h = configFields(ir, file);
  const widths = h.c.mlp ?? [text.hiddenSize, ...MLP_WIDTHS];
  const expected = [text.hiddenSize, ...MLP_WIDTHS];
  if (!Array.isArray(widths) || widths.length !== expected.length || widths.some((w, i) => w !== expected[i])) {
    h.fail("image_reward.mlp", JSON.stringify(expected), widths);
  }
  const mean = h.c.mean ?? IMAGE_REWARD_MEAN;
  const std = h.c.std ?? IMAGE_REWARD_STD;
  if (typeof mean !== "number" || !Number.isFinite(mean)) h.fail("image_reward.mean", "a number", mean);
  if (typeof std !== "number" || !(std > 0)) h.fail("image_reward.std", "a positive number", std);
  for (const [field, value] of [["mean_float32", mean], ["std_float32", std]] as const) {
    const f32 = Math.fround(value as number);
    if (h.c[field] !== undefined && h.c[field] !== f32) h.fail(`image_reward.${field}`, `float32(${field.split("_")[0]}) = ${f32}`, h.c[field]);
  }
  const maxLength = h.c.max_length ?? IMAGE_REWARD_TEXT_LENGTH;
  if (!Number.isInteger(maxLength) || (maxLength as number) < 3 || (maxLength as number) > text.maxPositions) {
    h.fail("image_reward.max_length", `an integer from 3 to max_position_embeddings ${text.maxPositions}`, maxLength);
  }
  const imageSize = h.c.image_size ?? vision.imageSize;
  if (imageSize !== vision.imageSize) h.fail("image_reward.image_size", `vision_config.image_size ${vision.imageSize}`, imageSize);
  return {
    vision,
    text,
    head: { widths: expected, mean: Math.fround(mean as number), std: Math.fround(std as number), maxLength: maxLength as number },
  };
}

const V = "blip.visual_encoder.";
const T = "blip.text_encoder.";

/** Every tensor the graphs read, with the shape the config implies. */
export function imageRewardTensorShapes(cfg: ImageRewardConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const put = (name: string, shape: number[]) => shapes.set(name, shape);
  const linear = (name: string, out: number, inp: number) => {
    put(`${name}.weight`, [out, inp]);
    put(`${name}.bias`, [out]);
  };
  const norm = (name: string, d: number) => {
    put(`${name}.weight`, [d]);
    put(`${name}.bias`, [d]);
  };
  const v = cfg.vision;
  const dv = v.hiddenSize;
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;
  put(`${V}patch_embed.proj.weight`, [dv, 3, v.patchSize, v.patchSize]);
  put(`${V}patch_embed.proj.bias`, [dv]);
  put(`${V}cls_token`, [1, 1, dv]);
  put(`${V}pos_embed`, [1, tokens, dv]);
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${V}blocks.${i}.`;
    norm(`${p}norm1`, dv);
    linear(`${p}attn.qkv`, 3 * dv, dv);
    linear(`${p}attn.proj`, dv, dv);
    norm(`${p}norm2`, dv);
    linear(`${p}mlp.fc1`, v.intermediateSize, dv);
    linear(`${p}mlp.fc2`, dv, v.intermediateSize);
  }
  norm(`${V}norm`, dv);
  const t = cfg.text;
  const dt = t.hiddenSize;
  put(`${T}embeddings.word_embeddings.weight`, [t.vocabSize, dt]);
  put(`${T}embeddings.position_embeddings.weight`, [t.maxPositions, dt]);
  norm(`${T}embeddings.LayerNorm`, dt);
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${T}encoder.layer.${i}.`;
    for (const [block, kv] of [["attention", dt], ["crossattention", t.encoderHiddenSize]] as const) {
      linear(`${p}${block}.self.query`, dt, dt);
      linear(`${p}${block}.self.key`, dt, kv);
      linear(`${p}${block}.self.value`, dt, kv);
      linear(`${p}${block}.output.dense`, dt, dt);
      norm(`${p}${block}.output.LayerNorm`, dt);
    }
    linear(`${p}intermediate.dense`, t.intermediateSize, dt);
    linear(`${p}output.dense`, dt, t.intermediateSize);
    norm(`${p}output.LayerNorm`, dt);
  }
  const w = cfg.head.widths;
  MLP_LAYER_INDICES.forEach((index, i) => linear(`mlp.layers.${index}`, w[i + 1], w[i]));
  return shapes;
}

/** Numbered children a checkpoint has under `prefix` (blocks.N., layer.N., layers.N.). */
function indices(checkpoint: Checkpoint, prefix: string): number[] {
  const found = new Set<number>();
  for (const name of checkpoint.tensors.keys()) {
    const m = name.startsWith(prefix) ? /^(\d+)\./.exec(name.slice(prefix.length)) : null;
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Refuses a checkpoint that does not hold this model: a missing tensor or another shape or a
 * non-float dtype (through Checkpoint.get), or more layers than the config says.
 */
export function checkImageRewardWeights(cfg: ImageRewardConfig, checkpoint: Checkpoint, configFile: string): void {
  for (const [name, shape] of imageRewardTensorShapes(cfg)) checkpoint.get(name, shape);
  const layers: [string, number, string][] = [
    [`${V}blocks.`, cfg.vision.numLayers, "vision_config.num_hidden_layers"],
    [`${T}encoder.layer.`, cfg.text.numLayers, "text_config.num_hidden_layers"],
  ];
  for (const [prefix, count, field] of layers) {
    const extra = indices(checkpoint, prefix).filter((i) => i >= count);
    if (extra.length) {
      throw new ModelInputError(`${checkpoint.files[0]}: has ${prefix}${extra[0]}.* but ${configFile} says ${field} = ${count}`);
    }
  }
  const mlp = indices(checkpoint, "mlp.layers.");
  if (mlp.join(",") !== MLP_LAYER_INDICES.join(",")) {
    throw new ModelInputError(
      `${checkpoint.files[0]}: mlp.layers has Linear layers ${JSON.stringify(mlp)}; ImageReward's head has ${JSON.stringify(MLP_LAYER_INDICES)}`,
    );
  }
}
