/**
 * The Qwen3 prompt encoder of DiffSynth-Studio's FLUX.2-klein pipeline
 * (Flux2Unit_Qwen3PromptEmbedder.get_qwen3_prompt_embeds over transformers' Qwen3Model) as an ONNX
 * graph: token embedding, then pre-norm decoder layers (RMSNorm, GQA attention with per-head q/k
 * RMSNorm and default RoPE, SwiGLU MLP). The hidden states of the chosen layers are concatenated per
 * token, which is what the reference's stack(dim=1) + permute(0, 2, 1, 3) + reshape amounts to.
 */
import { configFields } from "../config-fields.js";
import type { ComputeType, GraphBuilder } from "../onnx/graph-builder.js";
import { attention, joinHeads, linear, perHead, rmsNorm, rotary, silu } from "../onnx/layers.js";

export interface Qwen3Config {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
}

/** The pipeline reads hidden_states[27]: the output of the 27th decoder layer. */
const MIN_LAYERS = 27;
/** transformers' Qwen3Config default when config.json has no head_dim (not hidden / heads). */
const DEFAULT_HEAD_DIM = 128;

export function parseQwen3Config(json: unknown, file: string): Qwen3Config {
  const { c, fail, positiveInt, positive } = configFields(json, file);

  const archs = c.architectures;
  if (!(Array.isArray(archs) && archs.includes("Qwen3ForCausalLM")) && c.model_type !== "qwen3") {
    if (archs !== undefined) fail("architectures", 'a list including "Qwen3ForCausalLM" (or model_type "qwen3")', archs);
    fail("model_type", '"qwen3"', c.model_type);
  }
  // The graph implements plain full attention with default RoPE, no biases, SiLU gating.
  if (c.hidden_act !== undefined && c.hidden_act !== "silu") fail("hidden_act", '"silu"', c.hidden_act);
  if (c.attention_bias !== undefined && c.attention_bias !== false) fail("attention_bias", "false", c.attention_bias);
  if (c.use_sliding_window !== undefined && c.use_sliding_window !== false) fail("use_sliding_window", "false", c.use_sliding_window);
  const rope = c.rope_parameters as Record<string, unknown> | null | undefined;
  if (rope != null && typeof rope !== "object") fail("rope_parameters", "an object", rope);
  if (rope?.rope_type !== undefined && rope.rope_type !== "default") fail("rope_parameters.rope_type", '"default"', rope.rope_type);
  if (c.rope_scaling != null) fail("rope_scaling", "null (only default RoPE is implemented)", c.rope_scaling);
  const ropeTheta =
    rope?.rope_theta !== undefined ? positive("rope_parameters.rope_theta", rope.rope_theta) : positive("rope_theta", c.rope_theta);

  const hiddenSize = positiveInt("hidden_size");
  const numHeads = positiveInt("num_attention_heads");
  const numKvHeads = positiveInt("num_key_value_heads");
  if (numHeads % numKvHeads !== 0) fail("num_key_value_heads", `a divisor of num_attention_heads (${numHeads})`, numKvHeads);
  const headDim = c.head_dim === undefined ? DEFAULT_HEAD_DIM : positiveInt("head_dim");
  if (headDim % 2 !== 0) fail("head_dim", "even (RoPE rotates halves)", headDim);
  const numLayers = positiveInt("num_hidden_layers");
  if (numLayers < MIN_LAYERS) fail("num_hidden_layers", `at least ${MIN_LAYERS} (the pipeline reads hidden state ${MIN_LAYERS})`, numLayers);
  return {
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: positiveInt("intermediate_size"),
    vocabSize: positiveInt("vocab_size"),
    rmsNormEps: positive("rms_norm_eps", c.rms_norm_eps),
    ropeTheta,
  };
}

/** The lowest finite value per compute type: what transformers fills masked scores with. */
const MASK_FILL: Record<ComputeType, number> = { float32: -3.4028234663852886e38, float16: -65504, bfloat16: -3.3895313892515355e38 };

/**
 * Inputs `input_ids` and `attention_mask` int64 [B, maxLength] (right-padded, 1 = token);
 * output `prompt_embeds` float32 [B, maxLength, layers.length * hidden], hidden state k being the
 * embeddings for k = 0, else the output of the k-th decoder layer (model.layers.{k-1}; after the
 * final norm for k = numLayers, as transformers returns it). Only layers up to max(layers) are built.
 * In float16/bfloat16 the graph computes as transformers does in that dtype: everything in the
 * compute type (RoPE tables cast to it, as Qwen3RotaryEmbedding returns them) except the RMSNorm
 * statistics, which Qwen3RMSNorm takes in float32; the output is cast to float32.
 */
export function buildTextEncoderGraph(b: GraphBuilder, cfg: Qwen3Config, opts: { maxLength: number; layers: number[] }): void {
  const { maxLength, layers } = opts;
  if (layers.length === 0 || !layers.every((k) => Number.isInteger(k) && k >= 0 && k <= cfg.numLayers)) {
    throw new Error(`text encoder: hidden-state layers ${JSON.stringify(layers)} must lie in 0..${cfg.numLayers}`);
  }
  const H = cfg.hiddenSize;
  const ids = b.input("input_ids", "int64", ["batch", maxLength]);
  const padding = b.input("attention_mask", "int64", ["batch", maxLength]);

  const mask = attentionMask(b, padding, maxLength);
  const [cos, sin] = ropeTables(b, cfg, maxLength);
  let x = b.op("Gather", [b.param("model.embed_tokens.weight", [cfg.vocabSize, H]), ids], { axis: 0 });
  const hidden = [x];
  for (let i = 0; i < Math.max(...layers); i++) {
    x = decoderLayer(b, cfg, `model.layers.${i}`, x, mask, cos, sin);
    hidden.push(x);
  }
  const picked = layers.map((k) => (k === cfg.numLayers ? rmsNorm(b, hidden[k], cfg.rmsNormEps, "model.norm.weight", H) : hidden[k]));
  let out = picked.length === 1 ? picked[0] : b.op("Concat", picked, { axis: -1 });
  if (b.compute !== "float32") out = b.cast(out, "float32");
  b.output(out, "prompt_embeds", "float32", ["batch", maxLength, layers.length * H]);
}

/**
 * Additive [B, 1, S, S] mask: key j is visible from query i when j <= i and j is not padding
 * (transformers' causal mask AND the padding mask on keys). Padded queries therefore still see every
 * real token, and the reference's prompt_embeds include those rows.
 */
function attentionMask(b: GraphBuilder, padding: string, S: number): string {
  const pos = b.constant(Array.from({ length: S }, (_, i) => i), [S], "int64");
  const causal = b.op("LessOrEqual", [b.op("Unsqueeze", [pos, b.int64s([0])]), b.op("Unsqueeze", [pos, b.int64s([1])])]);
  const keys = b.op("Unsqueeze", [b.cast(padding, "bool"), b.int64s([1, 2])]);
  const visible = b.op("And", [causal, keys]);
  return b.op("Where", [visible, b.constantCompute([0], []), b.constantCompute([MASK_FILL[b.compute]], [])]);
}

/**
 * Default RoPE tables [S, headDim / 2] for positions 0..S-1 (the reference passes no position_ids,
 * so padding does not shift them), rounded as torch does: inv_freq = 1 / theta^(2i/d) and
 * freq = inv_freq * pos in float32; the reference's tables are cos/sin of cat(freq, freq), whose
 * halves RotaryEmbedding (rotate_half form) takes once.
 */
function ropeTables(b: GraphBuilder, cfg: Qwen3Config, S: number): [string, string] {
  const d = cfg.headDim;
  const half = d / 2;
  const invFreq = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(cfg.ropeTheta ** Math.fround((2 * i) / d))));
  const cos = new Float32Array(S * half);
  const sin = new Float32Array(S * half);
  for (let p = 0; p < S; p++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(invFreq[i] * p);
      cos[p * half + i] = Math.cos(f);
      sin[p * half + i] = Math.sin(f);
    }
  }
  return [b.constantCompute(cos, [S, half]), b.constantCompute(sin, [S, half])];
}

/** (B, S, kvHeads x d) -> (B, S, heads x d), each kv head repeated for its query group. */
function repeatKv(b: GraphBuilder, x: string, cfg: Qwen3Config): string {
  const rep = cfg.numHeads / cfg.numKvHeads;
  if (rep === 1) return x;
  const grouped = b.op("Reshape", [x, b.int64s([0, 0, cfg.numKvHeads, 1, cfg.headDim])]);
  const expanded = b.op("Expand", [grouped, b.int64s([1, 1, 1, rep, 1])]);
  return b.op("Reshape", [expanded, b.int64s([0, 0, cfg.numHeads * cfg.headDim])]);
}

/**
 * One decoder layer. Attention is MultiHeadAttention with the causal and padding mask as an
 * additive bias (grouped-query heads repeated first: MultiHeadAttention takes as many key heads as
 * query heads); with a bias the CUDA provider uses memory-efficient attention, not flash, which
 * costs nothing that matters here: the text encoder runs once per prompt, 512 tokens.
 */
function decoderLayer(b: GraphBuilder, cfg: Qwen3Config, p: string, x: string, mask: string, cos: string, sin: string): string {
  const { hiddenSize: H, numHeads, numKvHeads, headDim: d, intermediateSize: I, rmsNormEps: eps } = cfg;
  const h = rmsNorm(b, x, eps, `${p}.input_layernorm.weight`, H);
  const proj = (name: string, n: number) => linear(b, h, `${p}.self_attn.${name}.weight`, undefined, [n * d, H]);
  // q_norm / k_norm normalise each head vector, then RoPE rotates it
  const normed = (name: string, n: number) =>
    joinHeads(b, rmsNorm(b, perHead(b, proj(`${name}_proj`, n), n, d), eps, `${p}.self_attn.${name}_norm.weight`, d), n, d);
  const q = rotary(b, normed("q", numHeads), cos, sin, numHeads, false);
  const k = rotary(b, normed("k", numKvHeads), cos, sin, numKvHeads, false);
  const v = proj("v_proj", numKvHeads);
  const attn = attention(b, q, repeatKv(b, k, cfg), repeatKv(b, v, cfg), numHeads, mask);
  const o = linear(b, attn, `${p}.self_attn.o_proj.weight`, undefined, [H, numHeads * d]);
  const x1 = b.op("Add", [x, o]);
  const m = rmsNorm(b, x1, eps, `${p}.post_attention_layernorm.weight`, H);
  const gate = silu(b, linear(b, m, `${p}.mlp.gate_proj.weight`, undefined, [I, H]));
  const up = linear(b, m, `${p}.mlp.up_proj.weight`, undefined, [I, H]);
  return b.op("Add", [x1, linear(b, b.op("Mul", [gate, up]), `${p}.mlp.down_proj.weight`, undefined, [H, I])]);
}
