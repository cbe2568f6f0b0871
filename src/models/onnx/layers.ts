/**
 * Layers shared by the graphs: fused onnxruntime ops where onnxruntime has a CUDA kernel for them in
 * every compute type (attention, RMSNorm, rotary embedding, SiLU, LayerNorm, GELU), plain ONNX ops in
 * the order torch computes them elsewhere.
 */
import { float, MS_DOMAIN, type GraphBuilder } from "./graph-builder.js";

/** torch.nn.Linear: x @ W^T (+ b); W is (out, in) as checkpoints store it. */
export function linear(b: GraphBuilder, x: string, weight: string, bias?: string, shape?: [number, number]): string {
  const w = b.op("Transpose", [b.param(weight, shape)], { perm: [1, 0] });
  const y = b.op("MatMul", [x, w]);
  return bias ? b.op("Add", [y, b.param(bias, shape ? [shape[0]] : undefined)]) : y;
}

/** torch.nn.LayerNorm over the last axis (weight and bias optional). */
export function layerNorm(b: GraphBuilder, x: string, eps: number, weight?: string, bias?: string, dim?: number): string {
  const ones = (n: number) => b.constantCompute(new Array(n).fill(1), [n]);
  const zeros = (n: number) => b.constantCompute(new Array(n).fill(0), [n]);
  if (dim === undefined && !weight) throw new Error("layerNorm without weight needs dim");
  const scale = weight ? b.param(weight, dim ? [dim] : undefined) : ones(dim as number);
  const shift = bias ? b.param(bias, dim ? [dim] : undefined) : zeros(dim as number);
  return b.op("LayerNormalization", [x, scale, shift], { axis: -1, epsilon: float(eps) });
}

/**
 * RMSNorm as Qwen3 and FLUX.2 compute it, x * rsqrt(mean(x^2) + eps) * w, as one fused op
 * (SimplifiedLayerNormalization: onnxruntime's kernels take the statistics in float32 whatever the
 * input type, as Qwen3RMSNorm and torch.nn.RMSNorm upcast; in float16/bfloat16 the result is
 * rounded once where the reference rounds before and after the weight, within the precision
 * tolerances of test/graph-precision.test.ts).
 */
export function rmsNorm(b: GraphBuilder, x: string, eps: number, weight: string, dim?: number): string {
  return b.op("SimplifiedLayerNormalization", [x, b.param(weight, dim ? [dim] : undefined)], { axis: -1, epsilon: float(eps), stash_type: 1 });
}

/** x * sigmoid(alpha * x) as one op (com.microsoft QuickGelu: one fused CUDA kernel, not three passes). */
export function quickGelu(b: GraphBuilder, x: string, alpha: number): string {
  return b.op("QuickGelu", [x], { alpha: float(alpha) }, MS_DOMAIN);
}

/** x * sigmoid(x) */
export function silu(b: GraphBuilder, x: string): string {
  return quickGelu(b, x, 1);
}

/** Exact (erf) GELU, as torch's default. */
export function gelu(b: GraphBuilder, x: string): string {
  return b.op("Gelu", [x]);
}

/**
 * softmax(q k^T / sqrt(head_dim) + bias) v as one fused op: com.microsoft MultiHeadAttention on
 * (B, S, heads x head_dim) tensors, output in the same layout. Without a bias, onnxruntime's CUDA
 * provider runs flash attention (float16/bfloat16, head size up to 256) or memory-efficient
 * attention, and its CPU provider its own flash kernel: the score matrix is never materialised.
 * The kernels accumulate and scale in float32, so float16 scores cannot overflow. `bias`: additive,
 * (1 or B, 1, S, S_kv) in the compute type (masked entries at the type's finite minimum).
 */
export function attention(b: GraphBuilder, q: string, k: string, v: string, heads: number, bias?: string): string {
  const inputs = bias ? [q, k, v, "", "", bias] : [q, k, v];
  return b.op("MultiHeadAttention", inputs, { num_heads: heads }, MS_DOMAIN);
}

/**
 * Rotary embedding on (B, S, heads x head_dim) as one fused op (com.microsoft RotaryEmbedding),
 * positions 0..S-1: `cos`/`sin` are (S, head_dim / 2) tables of x's type. `interleaved`: pairs
 * (x[2i], x[2i+1]) rotate together (FLUX.2); otherwise the halves (x[i], x[i + head_dim/2]) do
 * (rotate_half, Qwen3).
 */
export function rotary(b: GraphBuilder, x: string, cos: string, sin: string, heads: number, interleaved: boolean): string {
  const start = b.constant([0], [1], "int64");
  return b.op("RotaryEmbedding", [x, start, cos, sin], { interleaved: interleaved ? 1 : 0, num_heads: heads }, MS_DOMAIN);
}

/** (B, S, heads x head_dim) <-> (B, S, heads, head_dim): a free reshape, for per-head norms. */
export function perHead(b: GraphBuilder, x: string, heads: number, headDim: number): string {
  return b.op("Reshape", [x, b.int64s([0, 0, heads, headDim])]);
}

export function joinHeads(b: GraphBuilder, x: string, heads: number, headDim: number): string {
  return b.op("Reshape", [x, b.int64s([0, 0, heads * headDim])]);
}

/** x cast to float32 when the compute type is another (no node in a float32 graph). */
export function toFloat32(b: GraphBuilder, x: string): string {
  return b.compute === "float32" ? x : b.cast(x, "float32");
}

/** x (float32) cast to the compute type (no node in a float32 graph). */
export function toCompute(b: GraphBuilder, x: string): string {
  return b.compute === "float32" ? x : b.cast(x, b.compute);
}

/**
 * A checkpoint weight rounded to the compute type, then held in float32: for ops computed in
 * float32 in a reduced-precision graph (group norm affine, convolutions without a bfloat16 kernel)
 * with the values the reduced-precision reference holds. In a float32 graph, b.param.
 */
export function paramRoundedFloat32(b: GraphBuilder, tensor: string, shape?: number[]): string {
  return b.compute === "float32" ? b.param(tensor, shape) : b.cast(b.param(tensor, shape), "float32");
}
