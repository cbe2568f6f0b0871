/**
 * PickScore's CLIP towers (transformers CLIPModel) as ONNX graphs: get_image_features and
 * get_text_features followed by the tutorial's x / ||x||, so the score is the dot product of the
 * two outputs (times exp(logit_scale) for the logit).
 */
import type { ComputeType, GraphBuilder } from "../onnx/graph-builder.js";
import { attention, gelu, layerNorm, linear, quickGelu, toCompute } from "../onnx/layers.js";
import { ModelInputError } from "../model-error.js";
import type { Checkpoint } from "../safetensors.js";

export type ClipActivation = "gelu" | "quick_gelu";

interface ClipTower {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  hiddenAct: ClipActivation;
}

export interface ClipTextConfig extends ClipTower {
  vocabSize: number;
  maxPositions: number;
  eosTokenId: number;
}

export interface ClipVisionConfig extends ClipTower {
  imageSize: number;
  patchSize: number;
  numChannels: number;
}

export interface ClipConfig {
  text: ClipTextConfig;
  vision: ClipVisionConfig;
  /** the top-level projection_dim (the nested ones are unused defaults) */
  projectionDim: number;
  /**
   * How the projections are stored: "out_in" as torch.nn.Linear ([proj, hidden], HF's
   * *_projection.weight), "in_out" as open_clip's bare matrices ([hidden, proj], used as x @ W).
   * Absent: "out_in".
   */
  projectionLayout?: ProjectionLayout;
}

export type ProjectionLayout = "out_in" | "in_out";

/** What the vision tower needs of a config (the Aesthetic reward has no text tower). */
export type ClipVisionTowerConfig = Pick<ClipConfig, "vision" | "projectionDim" | "projectionLayout">;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a CLIPModel config.json; fields that transformers defaults are defaulted the same way. */
export function parseClipConfig(json: unknown, file: string): ClipConfig {
  if (!isObject(json)) throw new ModelInputError(`${file}: expected a JSON object (a CLIPModel config.json)`);
  const archs = Array.isArray(json.architectures) ? json.architectures : [];
  if (!archs.includes("CLIPModel") && json.model_type !== "clip") {
    throw new ModelInputError(
      `${file}: architectures ${JSON.stringify(json.architectures ?? null)}, model_type ${JSON.stringify(json.model_type ?? null)}: expected a CLIPModel (model_type "clip")`,
    );
  }
  const section = (key: "text_config" | "vision_config"): Json => {
    const base = json[key] ?? {};
    if (!isObject(base)) throw new ModelInputError(`${file}: ${key}: expected an object`);
    // old configs keep their non-default values in *_config_dict, which transformers lets override
    const dict = json[`${key}_dict`];
    return isObject(dict) ? { ...base, ...dict } : base;
  };
  const text = section("text_config");
  const vision = section("vision_config");
  const eos = text.eos_token_id ?? 49407;
  if (typeof eos !== "number" || !Number.isInteger(eos) || eos < 0) {
    throw new ModelInputError(`${file}: text_config.eos_token_id is ${JSON.stringify(eos)}; expected a non-negative integer`);
  }
  const cfg: ClipConfig = {
    text: {
      ...tower(text, "text_config.", file),
      vocabSize: num(text, "text_config.", "vocab_size", file),
      maxPositions: num(text, "text_config.", "max_position_embeddings", file),
      eosTokenId: eos,
    },
    vision: parseClipVisionSection(vision, "vision_config.", file),
    projectionDim: num(json, "", "projection_dim", file),
  };
  return cfg;
}

/** A vision tower's fields (a CLIPModel's vision_config, or a CLIPVisionConfig at top level: where = ""). */
export function parseClipVisionSection(vision: Json, where: string, file: string): ClipVisionConfig {
  const v: ClipVisionConfig = {
    ...tower(vision, where, file),
    imageSize: num(vision, where, "image_size", file),
    patchSize: num(vision, where, "patch_size", file),
    numChannels: num(vision, where, "num_channels", file, 3),
  };
  if (v.imageSize % v.patchSize !== 0) {
    throw new ModelInputError(`${file}: ${where}image_size ${v.imageSize} is not a multiple of patch_size ${v.patchSize}`);
  }
  return v;
}

/** A positive number (an integer unless `integer` is false) of a config section, or its default. */
function num(obj: Json, where: string, field: string, file: string, fallback?: number, integer = true): number {
  const v = obj[field] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    const found = v === undefined ? "missing" : JSON.stringify(v);
    throw new ModelInputError(`${file}: ${where}${field} is ${found}; expected a positive ${integer ? "integer" : "number"}`);
  }
  return v;
}

/** The transformer tower of a config section (text_config or vision_config). */
function tower(obj: Json, where: string, file: string): ClipTower {
  const act = obj.hidden_act ?? "quick_gelu";
  if (act !== "gelu" && act !== "quick_gelu") {
    throw new ModelInputError(`${file}: ${where}hidden_act is ${JSON.stringify(act)}; expected "gelu" or "quick_gelu"`);
  }
  const t: ClipTower = {
    hiddenSize: num(obj, where, "hidden_size", file),
    intermediateSize: num(obj, where, "intermediate_size", file),
    numLayers: num(obj, where, "num_hidden_layers", file),
    numHeads: num(obj, where, "num_attention_heads", file),
    layerNormEps: num(obj, where, "layer_norm_eps", file, 1e-5, false),
    hiddenAct: act,
  };
  if (t.hiddenSize % t.numHeads !== 0) {
    throw new ModelInputError(`${file}: ${where}hidden_size ${t.hiddenSize} is not a multiple of num_attention_heads ${t.numHeads}`);
  }
  return t;
}

/** The scalar logit_scale (the score logit is exp(logit_scale) x cosine). */
export function readLogitScale(checkpoint: Checkpoint): number {
  return checkpoint.read("logit_scale", [])[0];
}

/**
 * pixel_values float32 [B, C, S, S] -> image_embeds float32 [B, projectionDim], unit length.
 * In float16/bfloat16 everything runs in that type (LayerNormalization keeps float32 statistics)
 * except the final L2 normalisation (float32); the patch convolution too (bfloat16 Conv from opset 22).
 */
export function buildClipVisionGraph(b: GraphBuilder, cfg: ClipVisionTowerConfig): void {
  const pixels = b.input("pixel_values", "float32", ["batch", cfg.vision.numChannels, cfg.vision.imageSize, cfg.vision.imageSize]);
  b.output(clipImageEmbeds(b, cfg, pixels), "image_embeds", "float32", ["batch", cfg.projectionDim]);
}

/** The unit-length image embeddings (float32 [B, projectionDim]) of a pixel_values input. */
export function clipImageEmbeds(b: GraphBuilder, cfg: ClipVisionTowerConfig, pixels: string): string {
  const v = cfg.vision;
  const d = v.hiddenSize;
  const p = "vision_model.";
  const patchShape = [d, v.numChannels, v.patchSize, v.patchSize];
  const patchAttrs = { kernel_shape: [v.patchSize, v.patchSize], strides: [v.patchSize, v.patchSize] };
  const patchWeight = b.param(`${p}embeddings.patch_embedding.weight`, patchShape);
  const conv = b.op("Conv", [toCompute(b, pixels), patchWeight], patchAttrs);
  // (B, D, g, g) -> (B, g*g, D): flatten(2).transpose(1, 2)
  const patches = b.op("Transpose", [b.op("Reshape", [conv, b.int64s([0, d, -1])])], { perm: [0, 2, 1] });
  const batchDim = b.op("Slice", [b.op("Shape", [pixels]), b.int64s([0]), b.int64s([1])]);
  const cls = b.op("Expand", [
    b.op("Reshape", [b.param(`${p}embeddings.class_embedding`, [d]), b.int64s([1, 1, d])]),
    b.op("Concat", [batchDim, b.int64s([1, d])], { axis: 0 }),
  ]);
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;
  let h = b.op("Add", [b.op("Concat", [cls, patches], { axis: 1 }), b.param(`${p}embeddings.position_embedding.weight`, [tokens, d])]);
  h = layerNorm(b, h, v.layerNormEps, `${p}pre_layrnorm.weight`, `${p}pre_layrnorm.bias`, d);
  for (let i = 0; i < v.numLayers; i++) h = encoderLayer(b, h, v, `${p}encoder.layers.${i}.`);
  const pooled = b.op("Gather", [h, b.constant([0], [], "int64")], { axis: 1 });
  const normed = layerNorm(b, pooled, v.layerNormEps, `${p}post_layernorm.weight`, `${p}post_layernorm.bias`, d);
  return l2Normalize(b, projection(b, normed, "visual_projection.weight", cfg, d));
}

/**
 * input_ids int64 [1, L] (unpadded, L <= max_position_embeddings) -> text_embeds float32
 * [1, projectionDim], unit length. In float16/bfloat16 everything up to the projection runs in
 * that type (LayerNormalization keeps float32 statistics), the L2 normalisation in float32. The pooled token is chosen inside the graph by transformers'
 * rule: eos_token_id 2 (configs from before its PR #24773) pools at argmax(input_ids), where the
 * end-of-text token sits as the largest id; any other id pools at its first occurrence.
 */
export function buildClipTextGraph(b: GraphBuilder, cfg: ClipConfig): void {
  const t = cfg.text;
  const d = t.hiddenSize;
  const p = "text_model.";
  const ids = b.input("input_ids", "int64", [1, "sequence"]);
  const length = b.op("Slice", [b.op("Shape", [ids]), b.int64s([1]), b.int64s([2])]);
  const tokens = b.op("Gather", [b.param(`${p}embeddings.token_embedding.weight`, [t.vocabSize, d]), ids], { axis: 0 });
  const zero = b.int64s([0]);
  const positions = b.op("Slice", [b.param(`${p}embeddings.position_embedding.weight`, [t.maxPositions, d]), zero, length, zero]);
  let h = b.op("Add", [tokens, positions]);
  // transformers' causal mask: finfo(dtype).min above the diagonal, cut to (L, L)
  const n = t.maxPositions;
  const table = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) table[i * n + j] = MASK_FILL[b.compute];
  const mask = b.op("Slice", [b.constantCompute(table, [1, 1, n, n]), b.int64s([0, 0]), b.op("Concat", [length, length], { axis: 0 }), b.int64s([2, 3])]);
  for (let i = 0; i < t.numLayers; i++) h = encoderLayer(b, h, t, `${p}encoder.layers.${i}.`, mask);
  const pick = t.eosTokenId === 2 ? ids : b.op("Equal", [ids, b.constant([t.eosTokenId], [], "int64")]);
  // transformers casts to int32 before argmax; float32 holds every token id and the 0/1 of a match
  // exactly and has a CUDA ArgMax kernel (int32 has none). ArgMax returns the first maximum, as torch does.
  const index = b.op("ArgMax", [b.cast(pick, "float32")], { axis: 1, keepdims: 1 });
  // the final LayerNorm acts per token, so it is applied to the pooled token only
  const pooled = b.op("GatherND", [h, index], { batch_dims: 1 });
  const normed = layerNorm(b, pooled, t.layerNormEps, `${p}final_layer_norm.weight`, `${p}final_layer_norm.bias`, d);
  const embeds = projection(b, normed, "text_projection.weight", cfg, d);
  b.output(l2Normalize(b, embeds), "text_embeds", "float32", [1, cfg.projectionDim]);
}

/** The lowest finite value per compute type (transformers' finfo(dtype).min mask fill). */
const MASK_FILL: Record<ComputeType, number> = { float32: -3.4028234663852886e38, float16: -65504, bfloat16: -3.3895313892515355e38 };

/** CLIPEncoderLayer: pre-LN self-attention and MLP, each added back to the residual. */
function encoderLayer(b: GraphBuilder, x: string, c: ClipTower, p: string, mask?: string): string {
  const d = c.hiddenSize;
  const h = layerNorm(b, x, c.layerNormEps, `${p}layer_norm1.weight`, `${p}layer_norm1.bias`, d);
  const proj = (name: string) => linear(b, h, `${p}self_attn.${name}.weight`, `${p}self_attn.${name}.bias`, [d, d]);
  const attn = attention(b, proj("q_proj"), proj("k_proj"), proj("v_proj"), c.numHeads, mask);
  const r = b.op("Add", [x, linear(b, attn, `${p}self_attn.out_proj.weight`, `${p}self_attn.out_proj.bias`, [d, d])]);
  const m = layerNorm(b, r, c.layerNormEps, `${p}layer_norm2.weight`, `${p}layer_norm2.bias`, d);
  const up = linear(b, m, `${p}mlp.fc1.weight`, `${p}mlp.fc1.bias`, [c.intermediateSize, d]);
  const down = linear(b, activation(b, up, c.hiddenAct), `${p}mlp.fc2.weight`, `${p}mlp.fc2.bias`, [d, c.intermediateSize]);
  return b.op("Add", [r, down]);
}

function activation(b: GraphBuilder, x: string, act: ClipActivation): string {
  if (act === "gelu") return gelu(b, x);
  // transformers' QuickGELUActivation: x * sigmoid(1.702 x)
  return quickGelu(b, x, 1.702);
}

/** A tower's bias-free projection to projectionDim, in the layout the checkpoint stores it. */
function projection(b: GraphBuilder, x: string, weight: string, cfg: ClipVisionTowerConfig, d: number): string {
  if (cfg.projectionLayout === "in_out") return b.op("MatMul", [x, b.param(weight, [d, cfg.projectionDim])]);
  return linear(b, x, weight, undefined, [cfg.projectionDim, d]);
}

/** x / ||x|| over the last axis (the tutorial's x / torch.norm(x, dim=-1, keepdim=True)), in float32. */
function l2Normalize(b: GraphBuilder, x: string): string {
  const x32 = b.compute === "float32" ? x : b.cast(x, "float32");
  return b.op("Div", [x32, b.op("ReduceL2", [x32, b.int64s([-1])], { keepdims: 1 })]);
}
