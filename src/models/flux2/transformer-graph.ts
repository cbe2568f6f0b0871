/**
 * The FLUX.2 transformer (DiffSynth-Studio's Flux2DiT = diffusers' Flux2Transformer2DModel, same
 * tensor names) as an ONNX graph: one velocity prediction per call. Ops follow the reference's
 * order; the joint sequence is always [text tokens, image tokens] and only image tokens come out.
 */
import { float, type GraphBuilder } from "../onnx/graph-builder.js";
import { attention, joinHeads, linear, perHead, rmsNorm, rotary, silu, toCompute, toFloat32 } from "../onnx/layers.js";
import { ModelInputError } from "../model-error.js";

export interface Flux2TransformerConfig {
  inChannels: number;
  outChannels: number;
  numLayers: number;
  numSingleLayers: number;
  attentionHeadDim: number;
  numAttentionHeads: number;
  jointAttentionDim: number;
  timestepGuidanceChannels: number;
  mlpRatio: number;
  axesDimsRope: number[];
  ropeTheta: number;
  eps: number;
}

/** Reads a diffusers transformer/config.json; every message names the file and the field. */
export function parseFlux2TransformerConfig(json: unknown, file: string): Flux2TransformerConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ModelInputError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    const found = c[field] === undefined ? "missing" : JSON.stringify(c[field]);
    throw new ModelInputError(`${file}: "${field}" is ${found}; expected ${expected}`);
  };
  const positiveInt = (field: string): number => {
    const v = c[field];
    return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fail(field, "a positive integer");
  };
  const positive = (field: string): number => {
    const v = c[field];
    return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fail(field, "a positive number");
  };

  if (c._class_name !== "Flux2Transformer2DModel") fail("_class_name", '"Flux2Transformer2DModel"');
  if (c.patch_size !== 1) fail("patch_size", "1 (the only patch size FLUX.2 uses)");
  if (c.guidance_embeds !== false) fail("guidance_embeds", "false (FLUX.2-klein has no guidance embedding; guidance-distilled models are not supported)");
  const inChannels = positiveInt("in_channels");
  const outChannels = c.out_channels === null || c.out_channels === undefined ? inChannels : positiveInt("out_channels");
  const attentionHeadDim = positiveInt("attention_head_dim");
  const timestepGuidanceChannels = positiveInt("timestep_guidance_channels");
  if (timestepGuidanceChannels % 2 !== 0) fail("timestep_guidance_channels", "an even number");
  const axes = c.axes_dims_rope;
  if (!Array.isArray(axes) || axes.length === 0 || !axes.every((d) => typeof d === "number" && Number.isInteger(d) && d > 0 && d % 2 === 0)) {
    fail("axes_dims_rope", "a list of positive even integers");
  }
  const axesDimsRope = axes as number[];
  const ropeSum = axesDimsRope.reduce((a, d) => a + d, 0);
  if (ropeSum !== attentionHeadDim) fail("axes_dims_rope", `dimensions summing to attention_head_dim (${attentionHeadDim}), not ${ropeSum}`);
  return {
    inChannels,
    outChannels,
    numLayers: positiveInt("num_layers"),
    numSingleLayers: positiveInt("num_single_layers"),
    attentionHeadDim,
    numAttentionHeads: positiveInt("num_attention_heads"),
    jointAttentionDim: positiveInt("joint_attention_dim"),
    timestepGuidanceChannels,
    mlpRatio: positive("mlp_ratio"),
    axesDimsRope,
    ropeTheta: positive("rope_theta"),
    eps: positive("eps"),
  };
}

/**
 * Inputs: latents [B, S, in_channels], timestep [B] (sigma; multiplied by 1000 here as the model
 * does), prompt_embeds [B, textLength, joint_attention_dim], rope_cos / rope_sin [textLength + S,
 * head_dim] (rope.ts, text rows first). Output: velocity [B, S, out_channels].
 *
 * Inputs and output are float32 whatever b.compute. In float16/bfloat16 the graph computes as the
 * reference does with torch_dtype set to that type: everything in the compute type except what
 * Flux2DiT itself computes in float32: the sinusoidal timestep projection (of sigma rounded to
 * the compute type and times 1000 in it), the RMSNorm statistics of q/k, and the RoPE rotation
 * (`(x.float() * cos + x_rotated.float() * sin).to(x.dtype)` with float32 tables). LayerNorm keeps
 * its float32 statistics inside LayerNormalization (stash_type 1). In float16 the residual streams
 * are clipped to +-65504 where the reference clips them.
 *
 * Fused ops (layers.ts): joint attention is one MultiHeadAttention over [text, image] tokens (no
 * mask, so flash attention on a GPU), q/k RMSNorm one SimplifiedLayerNormalization per head, RoPE
 * one RotaryEmbedding in float32, and the adaptive modulation `(1 + scale) * LN(x) + shift` is the
 * LayerNormalization's own affine with per-sample (B, 1, dim) scale and bias.
 */
export function buildTransformerGraph(b: GraphBuilder, cfg: Flux2TransformerConfig, opts: { textLength: number }): void {
  const T = opts.textLength;
  const heads = cfg.numAttentionHeads;
  const headDim = cfg.attentionHeadDim;
  const dim = heads * headDim;
  const mlpHidden = Math.trunc(dim * cfg.mlpRatio);
  const latents = toCompute(b, b.input("latents", "float32", ["batch", "image_tokens", cfg.inChannels]));
  const timestep = b.input("timestep", "float32", ["batch"]);
  const prompt = toCompute(b, b.input("prompt_embeds", "float32", ["batch", T, cfg.jointAttentionDim]));
  // The tables repeat each value for its interleaved pair; RotaryEmbedding takes one per pair.
  const ropeIn = (name: string) =>
    b.op("Slice", [b.input(name, "float32", ["joint_tokens", headDim]), b.int64s([0]), b.int64s([headDim]), b.int64s([1]), b.int64s([2])]);
  const rope = { cos: ropeIn("rope_cos"), sin: ropeIn("rope_sin") };

  const temb = timestepEmbedding(b, timestep, cfg.timestepGuidanceChannels, dim);
  const siluTemb = silu(b, temb);
  const modImg = modulation(b, siluTemb, "double_stream_modulation_img", dim, 2);
  const modTxt = modulation(b, siluTemb, "double_stream_modulation_txt", dim, 2);
  const [modSingle] = modulation(b, siluTemb, "single_stream_modulation", dim, 1);

  let img = linear(b, latents, "x_embedder.weight", undefined, [dim, cfg.inChannels]);
  let txt = linear(b, prompt, "context_embedder.weight", undefined, [dim, cfg.jointAttentionDim]);
  const blk = { dim, heads, headDim, mlpHidden, eps: cfg.eps, rope };
  for (let i = 0; i < cfg.numLayers; i++) [txt, img] = doubleBlock(b, `transformer_blocks.${i}`, blk, img, txt, modImg, modTxt);
  let x = b.op("Concat", [txt, img], { axis: 1 });
  for (let i = 0; i < cfg.numSingleLayers; i++) x = singleBlock(b, `single_transformer_blocks.${i}`, blk, x, modSingle);
  x = b.op("Slice", [x, b.int64s([T]), b.int64s([Number.MAX_SAFE_INTEGER]), b.int64s([1])]);

  // norm_out (AdaLayerNormContinuous): chunk order is (scale, shift), unlike the blocks.
  const [scale, shift] = chunk(b, unsqueeze1(b, linear(b, siluTemb, "norm_out.linear.weight", undefined, [2 * dim, dim])), 2);
  x = modulatedNorm(b, x, cfg.eps, shift, scale);
  const velocity = toFloat32(b, linear(b, x, "proj_out.weight", undefined, [cfg.outChannels, dim]));
  b.output(velocity, "velocity", "float32", ["batch", "image_tokens", cfg.outChannels]);
}

interface BlockShape {
  dim: number;
  heads: number;
  headDim: number;
  mlpHidden: number;
  eps: number;
  rope: { cos: string; sin: string };
}

/** (shift, scale, gate) triples. */
type Mod = [string, string, string];

/**
 * Timesteps(flip_sin_to_cos, shift 0) of sigma * 1000, then TimestepEmbedding (no biases). The
 * reference multiplies in the model's dtype (`timestep.to(dtype) * 1000`), projects in float32
 * (`timesteps[:, None].float() * freqs`, sin, cos) and casts the projection back to the dtype.
 */
function timestepEmbedding(b: GraphBuilder, sigma: string, channels: number, dim: number): string {
  const half = channels / 2;
  // exp(-ln(10000) * j / half) with torch's float32 roundings: the scalar, the product, the exp.
  const logMax = Math.fround(-Math.log(10000));
  const freqs = Array.from({ length: half }, (_, j) => Math.fround(Math.exp(Math.fround(logMax * j) / half)));
  const t =
    b.compute === "float32"
      ? b.op("Mul", [sigma, b.constant([1000], [])])
      : b.cast(b.op("Mul", [b.cast(sigma, b.compute), b.constantCompute([1000], [])]), "float32");
  const args = b.op("Mul", [b.op("Unsqueeze", [t, b.int64s([1])]), b.constant(freqs, [1, half])]);
  const proj = toCompute(b, b.op("Concat", [b.op("Cos", [args]), b.op("Sin", [args])], { axis: -1 }));
  const h = silu(b, linear(b, proj, "time_guidance_embed.timestep_embedder.linear_1.weight", undefined, [dim, channels]));
  return linear(b, h, "time_guidance_embed.timestep_embedder.linear_2.weight", undefined, [dim, dim]);
}

/** Flux2Modulation on silu(temb): (B, 1, 3*sets*dim) chunked into `sets` (shift, scale, gate) triples. */
function modulation(b: GraphBuilder, siluTemb: string, prefix: string, dim: number, sets: number): Mod[] {
  const mod = unsqueeze1(b, linear(b, siluTemb, `${prefix}.linear.weight`, undefined, [3 * sets * dim, dim]));
  const parts = chunk(b, mod, 3 * sets);
  return Array.from({ length: sets }, (_, i) => parts.slice(3 * i, 3 * i + 3) as Mod);
}

function doubleBlock(b: GraphBuilder, p: string, s: BlockShape, img: string, txt: string, modImg: Mod[], modTxt: Mod[]): [string, string] {
  const [[shiftMsa, scaleMsa, gateMsa], [shiftMlp, scaleMlp, gateMlp]] = modImg;
  const [[cShiftMsa, cScaleMsa, cGateMsa], [cShiftMlp, cScaleMlp, cGateMlp]] = modTxt;
  const normImg = modulatedNorm(b, img, s.eps, shiftMsa, scaleMsa);
  const normTxt = modulatedNorm(b, txt, s.eps, cShiftMsa, cScaleMsa);

  const sq: [number, number] = [s.dim, s.dim];
  const q = headsOf(b, s, linear(b, normImg, `${p}.attn.to_q.weight`, undefined, sq), `${p}.attn.norm_q.weight`);
  const k = headsOf(b, s, linear(b, normImg, `${p}.attn.to_k.weight`, undefined, sq), `${p}.attn.norm_k.weight`);
  const v = headsOf(b, s, linear(b, normImg, `${p}.attn.to_v.weight`, undefined, sq));
  const cq = headsOf(b, s, linear(b, normTxt, `${p}.attn.add_q_proj.weight`, undefined, sq), `${p}.attn.norm_added_q.weight`);
  const ck = headsOf(b, s, linear(b, normTxt, `${p}.attn.add_k_proj.weight`, undefined, sq), `${p}.attn.norm_added_k.weight`);
  const cv = headsOf(b, s, linear(b, normTxt, `${p}.attn.add_v_proj.weight`, undefined, sq));
  const joint = (t: string, i: string) => b.op("Concat", [t, i], { axis: 1 });
  const out = jointAttention(b, s, joint(cq, q), joint(ck, k), joint(cv, v));
  // Split the joint output back: the text rows come first.
  const textLen = b.op("Shape", [txt], { start: 1, end: 2 });
  const txtAttn = b.op("Slice", [out, b.int64s([0]), textLen, b.int64s([1])]);
  const imgAttn = b.op("Slice", [out, textLen, b.int64s([Number.MAX_SAFE_INTEGER]), b.int64s([1])]);

  img = b.op("Add", [img, b.op("Mul", [gateMsa, linear(b, imgAttn, `${p}.attn.to_out.0.weight`, undefined, sq)])]);
  const ffImg = feedForward(b, `${p}.ff`, s, modulatedNorm(b, img, s.eps, shiftMlp, scaleMlp));
  img = b.op("Add", [img, b.op("Mul", [gateMlp, ffImg])]);

  txt = b.op("Add", [txt, b.op("Mul", [cGateMsa, linear(b, txtAttn, `${p}.attn.to_add_out.weight`, undefined, sq)])]);
  const ffTxt = feedForward(b, `${p}.ff_context`, s, modulatedNorm(b, txt, s.eps, cShiftMlp, cScaleMlp));
  txt = clipFloat16(b, b.op("Add", [txt, b.op("Mul", [cGateMlp, ffTxt])]));
  return [txt, img];
}

/** Parallel block: one fused projection feeds attention (q, k, v) and the SwiGLU MLP. */
function singleBlock(b: GraphBuilder, p: string, s: BlockShape, x: string, [shift, scale, gate]: Mod): string {
  const norm = modulatedNorm(b, x, s.eps, shift, scale);
  const fused = linear(b, norm, `${p}.attn.to_qkv_mlp_proj.weight`, undefined, [3 * s.dim + 2 * s.mlpHidden, s.dim]);
  const [q, k, v, mlp] = b.ops("Split", [fused, b.int64s([s.dim, s.dim, s.dim, 2 * s.mlpHidden])], 4, { axis: -1 });
  const attn = jointAttention(
    b,
    s,
    headsOf(b, s, q, `${p}.attn.norm_q.weight`),
    headsOf(b, s, k, `${p}.attn.norm_k.weight`),
    headsOf(b, s, v),
  );
  const both = b.op("Concat", [attn, swiGlu(b, mlp)], { axis: -1 });
  const out = linear(b, both, `${p}.attn.to_out.weight`, undefined, [s.dim, s.dim + s.mlpHidden]);
  return clipFloat16(b, b.op("Add", [x, b.op("Mul", [gate, out])]));
}

/** The reference's `if hidden_states.dtype == torch.float16: hidden_states.clip(-65504, 65504)`. */
function clipFloat16(b: GraphBuilder, x: string): string {
  if (b.compute !== "float16") return x;
  return b.op("Clip", [x, b.constantCompute([-65504], []), b.constantCompute([65504], [])]);
}

/** (B, S, dim), RMS-normalised per head (over each head's head_dim values) when a norm weight is given. */
function headsOf(b: GraphBuilder, s: BlockShape, x: string, normWeight?: string): string {
  if (!normWeight) return x;
  return joinHeads(b, rmsNorm(b, perHead(b, x, s.heads, s.headDim), s.eps, normWeight, s.headDim), s.heads, s.headDim);
}

/** RoPE on q and k, then fused attention over (B, S, dim). */
function jointAttention(b: GraphBuilder, s: BlockShape, q: string, k: string, v: string): string {
  return attention(b, applyRope(b, s, q), applyRope(b, s, k), v, s.heads);
}

/**
 * x * cos + rotate(x) * sin, rotate turning each interleaved pair (a, b) into (-b, a); in float32
 * with the float32 tables, then back to the compute type, as apply_rotary_emb does.
 */
function applyRope(b: GraphBuilder, s: BlockShape, x: string): string {
  return toCompute(b, rotary(b, toFloat32(b, x), s.rope.cos, s.rope.sin, s.heads, true));
}

/** Flux2FeedForward: linear_in (to 2 x hidden), SwiGLU, linear_out. */
function feedForward(b: GraphBuilder, p: string, s: BlockShape, x: string): string {
  const h = swiGlu(b, linear(b, x, `${p}.linear_in.weight`, undefined, [2 * s.mlpHidden, s.dim]));
  return linear(b, h, `${p}.linear_out.weight`, undefined, [s.dim, s.mlpHidden]);
}

/** silu(first half) * second half of the last axis. */
function swiGlu(b: GraphBuilder, x: string): string {
  const [gate, up] = b.ops("Split", [x], 2, { axis: -1, num_outputs: 2 });
  return b.op("Mul", [silu(b, gate), up]);
}

/** (1 + scale) * LN(x) + shift, the modulation folded into LayerNormalization's affine (scale, shift: (B, 1, dim)). */
function modulatedNorm(b: GraphBuilder, x: string, eps: number, shift: string, scale: string): string {
  return b.op("LayerNormalization", [x, onePlus(b, scale), shift], { axis: -1, epsilon: float(eps) });
}

function onePlus(b: GraphBuilder, x: string): string {
  return b.op("Add", [b.constantCompute([1], []), x]);
}

function unsqueeze1(b: GraphBuilder, x: string): string {
  return b.op("Unsqueeze", [x, b.int64s([1])]);
}

function chunk(b: GraphBuilder, x: string, n: number): string[] {
  return b.ops("Split", [x], n, { axis: -1, num_outputs: n });
}
