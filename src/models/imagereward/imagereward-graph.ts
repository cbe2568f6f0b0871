/**
 * ImageReward (BLIP ViT-L/16 + BERT with cross-attention + MLP head) as one ONNX graph, on the
 * original ImageReward.pt keys:
 * - vision: patch conv (with bias), [CLS] prepended, pos_embed added, pre-LN blocks (fused qkv
 *   rows [q; k; v]), the final norm on all tokens = image_embeds;
 * - text: word + position embeddings, LayerNorm, then post-LN layers of bidirectional
 *   self-attention (padding keys masked), cross-attention to every image token, and the FFN;
 * - head: the [CLS] row through mlp.layers 0, 2, 4, 6, 7 (no activations) = raw_reward, then
 *   score = (raw_reward - mean) / std in float32.
 * In float16/bfloat16 the towers run in that type (LayerNormalization keeps float32 statistics);
 * the outputs and the final normalisation are float32.
 */
import type { ComputeType, GraphBuilder } from "../onnx/graph-builder.js";
import { attention, gelu, layerNorm, linear, toCompute, toFloat32 } from "../onnx/layers.js";
import { MLP_LAYER_INDICES, type ImageRewardConfig, type ImageRewardTextConfig, type ImageRewardVisionConfig } from "./imagereward-config.js";

export interface ImageRewardGraphOptions {
  /** also output the intermediates the golden traces hold (image_embeds, text_last_hidden_state, text_cls, mlp_out0..7) */
  trace?: boolean;
}

const V = "blip.visual_encoder.";
const T = "blip.text_encoder.";

/** The lowest finite value per compute type: the additive mask of padded keys. */
const MASK_FILL: Record<ComputeType, number> = { float32: -3.4028234663852886e38, float16: -65504, bfloat16: -3.3895313892515355e38 };

/**
 * Inputs: pixel_values float32 [batch, 3, S, S]; input_ids and attention_mask int64
 * [text_batch, sequence], where text_batch is batch or 1 (one prompt for every image).
 * Outputs: score and raw_reward float32 [batch]; with `trace`, the intermediates too.
 */
export function buildImageRewardGraph(b: GraphBuilder, cfg: ImageRewardConfig, opts: ImageRewardGraphOptions = {}): void {
  const v = cfg.vision;
  const t = cfg.text;
  const pixels = b.input("pixel_values", "float32", ["batch", 3, v.imageSize, v.imageSize]);
  const ids = b.input("input_ids", "int64", ["text_batch", "sequence"]);
  const mask = b.input("attention_mask", "int64", ["text_batch", "sequence"]);
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;

  // one prompt for every image: the text inputs are broadcast to the image batch
  const rows = b.op("Concat", [b.op("Slice", [b.op("Shape", [pixels]), b.int64s([0]), b.int64s([1])]), b.int64s([1])], { axis: 0 });
  const image = visionTower(b, v, pixels);
  const hidden = textEncoder(b, t, b.op("Expand", [ids, rows]), b.op("Expand", [mask, rows]), image);
  const cls = b.op("Gather", [hidden, b.constant([0], [], "int64")], { axis: 1 });
  const w = cfg.head.widths;
  const mlp: string[] = [];
  let x = cls;
  MLP_LAYER_INDICES.forEach((index, i) => {
    x = linear(b, x, `mlp.layers.${index}.weight`, `mlp.layers.${index}.bias`, [w[i + 1], w[i]]);
    mlp.push(x);
  });
  const raw = b.op("Reshape", [toFloat32(b, x), b.int64s([-1])]);
  // raw + (-mean) is raw - mean exactly (IEEE subtraction is the addition of the negation)
  const score = b.op("Div", [b.op("Add", [raw, b.constant([-cfg.head.mean], [])]), b.constant([cfg.head.std], [])]);
  b.output(score, "score", "float32", ["batch"]);
  b.output(raw, "raw_reward", "float32", ["batch"]);
  if (!opts.trace) return;
  b.output(toFloat32(b, image), "image_embeds", "float32", ["batch", tokens, v.hiddenSize]);
  b.output(toFloat32(b, hidden), "text_last_hidden_state", "float32", ["batch", "sequence", t.hiddenSize]);
  b.output(toFloat32(b, cls), "text_cls", "float32", ["batch", t.hiddenSize]);
  MLP_LAYER_INDICES.forEach((index, i) => b.output(toFloat32(b, mlp[i]), `mlp_out${index}`, "float32", ["batch", w[i + 1]]));
}

/** pixel_values -> image_embeds (B, tokens, Dv) in the compute type. */
function visionTower(b: GraphBuilder, v: ImageRewardVisionConfig, pixels: string): string {
  const d = v.hiddenSize;
  const patchShape = [d, 3, v.patchSize, v.patchSize];
  const attrs = { kernel_shape: [v.patchSize, v.patchSize], strides: [v.patchSize, v.patchSize] };
  const conv = b.op("Conv", [toCompute(b, pixels), b.param(`${V}patch_embed.proj.weight`, patchShape), b.param(`${V}patch_embed.proj.bias`, [d])], attrs);
  // (B, D, g, g) -> (B, g*g, D): flatten(2).transpose(1, 2)
  const patches = b.op("Transpose", [b.op("Reshape", [conv, b.int64s([0, d, -1])])], { perm: [0, 2, 1] });
  const batchDim = b.op("Slice", [b.op("Shape", [pixels]), b.int64s([0]), b.int64s([1])]);
  const cls = b.op("Expand", [b.param(`${V}cls_token`, [1, 1, d]), b.op("Concat", [batchDim, b.int64s([1, d])], { axis: 0 })]);
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;
  let h = b.op("Add", [b.op("Concat", [cls, patches], { axis: 1 }), b.param(`${V}pos_embed`, [1, tokens, d])]);
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${V}blocks.${i}.`;
    const n1 = layerNorm(b, h, v.layerNormEps, `${p}norm1.weight`, `${p}norm1.bias`, d);
    // timm's qkv(x).reshape(B, N, 3, heads, head_dim): the last axis is [q | k | v], each heads x head_dim
    const qkv = linear(b, n1, `${p}attn.qkv.weight`, `${p}attn.qkv.bias`, [3 * d, d]);
    const [q, k, val] = b.ops("Split", [qkv, b.int64s([d, d, d])], 3, { axis: -1 });
    const attn = attention(b, q, k, val, v.numHeads);
    h = b.op("Add", [h, linear(b, attn, `${p}attn.proj.weight`, `${p}attn.proj.bias`, [d, d])]);
    const n2 = layerNorm(b, h, v.layerNormEps, `${p}norm2.weight`, `${p}norm2.bias`, d);
    const up = gelu(b, linear(b, n2, `${p}mlp.fc1.weight`, `${p}mlp.fc1.bias`, [v.intermediateSize, d]));
    h = b.op("Add", [h, linear(b, up, `${p}mlp.fc2.weight`, `${p}mlp.fc2.bias`, [d, v.intermediateSize])]);
  }
  return layerNorm(b, h, v.layerNormEps, `${V}norm.weight`, `${V}norm.bias`, d);
}

/** input_ids, attention_mask, image_embeds -> the last hidden state (B, L, Dt) in the compute type. */
function textEncoder(b: GraphBuilder, t: ImageRewardTextConfig, ids: string, mask: string, image: string): string {
  const d = t.hiddenSize;
  const length = b.op("Slice", [b.op("Shape", [ids]), b.int64s([1]), b.int64s([2])]);
  const words = b.op("Gather", [b.param(`${T}embeddings.word_embeddings.weight`, [t.vocabSize, d]), ids], { axis: 0 });
  const zero = b.int64s([0]);
  const positions = b.op("Slice", [b.param(`${T}embeddings.position_embeddings.weight`, [t.maxPositions, d]), zero, length, zero]);
  let h = layerNorm(b, b.op("Add", [words, positions]), t.layerNormEps, `${T}embeddings.LayerNorm.weight`, `${T}embeddings.LayerNorm.bias`, d);
  // transformers' extended attention mask (1 - mask) x finfo.min on the keys, (B, 1, 1, L), written
  // as min - mask x min: the same values for a 0/1 mask
  const keep = b.cast(b.op("Unsqueeze", [mask, b.int64s([1, 2])]), b.compute);
  const fill = MASK_FILL[b.compute];
  const keyMask = b.op("Add", [b.op("Mul", [keep, b.constantCompute([-fill], [])]), b.constantCompute([fill], [])]);
  // MultiHeadAttention's attention_bias is (B, 1, L, L): the key mask repeated for every query
  const keyBias = b.op("Expand", [keyMask, b.op("Concat", [b.int64s([1, 1]), length, b.int64s([1])], { axis: 0 })]);
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${T}encoder.layer.${i}.`;
    h = attentionBlock(b, t, `${p}attention.`, h, h, d, keyBias);
    h = attentionBlock(b, t, `${p}crossattention.`, h, image, t.encoderHiddenSize);
    const up = gelu(b, linear(b, h, `${p}intermediate.dense.weight`, `${p}intermediate.dense.bias`, [t.intermediateSize, d]));
    const down = linear(b, up, `${p}output.dense.weight`, `${p}output.dense.bias`, [d, t.intermediateSize]);
    h = layerNorm(b, b.op("Add", [down, h]), t.layerNormEps, `${p}output.LayerNorm.weight`, `${p}output.LayerNorm.bias`, d);
  }
  return h;
}

/** BertAttention: queries from x, keys and values from `source` (x itself, or the image), then LayerNorm(dense(.) + x). */
function attentionBlock(
  b: GraphBuilder,
  t: ImageRewardTextConfig,
  p: string,
  x: string,
  source: string,
  sourceDim: number,
  bias?: string,
): string {
  const d = t.hiddenSize;
  const proj = (input: string, name: string, inDim: number) => linear(b, input, `${p}self.${name}.weight`, `${p}self.${name}.bias`, [d, inDim]);
  const ctx = attention(b, proj(x, "query", d), proj(source, "key", sourceDim), proj(source, "value", sourceDim), t.numHeads, bias);
  const out = linear(b, ctx, `${p}output.dense.weight`, `${p}output.dense.bias`, [d, d]);
  return layerNorm(b, b.op("Add", [out, x]), t.layerNormEps, `${p}output.LayerNorm.weight`, `${p}output.LayerNorm.bias`, d);
}
