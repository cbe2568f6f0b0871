/** Layers shared by the graphs, written with plain ONNX ops in the order torch computes them. */
import { float, type GraphBuilder } from "./graph-builder.js";

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

/** RMSNorm as Qwen3 and FLUX.2 compute it: x * rsqrt(mean(x^2) + eps) * w, in the input's type. */
export function rmsNorm(b: GraphBuilder, x: string, eps: number, weight: string, dim?: number): string {
  const sq = b.op("Mul", [x, x]);
  const mean = b.op("ReduceMean", [sq, b.int64s([-1])], { keepdims: 1 });
  const denom = b.op("Sqrt", [b.op("Add", [mean, b.constantCompute([eps], [])])]);
  const inv = b.op("Reciprocal", [denom]);
  return b.op("Mul", [b.param(weight, dim ? [dim] : undefined), b.op("Mul", [x, inv])]);
}

export function silu(b: GraphBuilder, x: string): string {
  return b.op("Mul", [x, b.op("Sigmoid", [x])]);
}

/** Exact (erf) GELU, as torch's default. */
export function gelu(b: GraphBuilder, x: string): string {
  return b.op("Gelu", [x]);
}

/** softmax(q k^T * scale (+ mask)) v over (batch, heads, seq, head_dim) tensors. */
export function attention(b: GraphBuilder, q: string, k: string, v: string, headDim: number, mask?: string): string {
  const scale = b.constantCompute([1 / Math.sqrt(headDim)], []);
  const kt = b.op("Transpose", [k], { perm: [0, 1, 3, 2] });
  let scores = b.op("Mul", [b.op("MatMul", [q, kt]), scale]);
  if (mask) scores = b.op("Add", [scores, mask]);
  return b.op("MatMul", [b.op("Softmax", [scores], { axis: -1 }), v]);
}

/** (B, S, heads*dim) -> (B, heads, S, dim) */
export function splitHeads(b: GraphBuilder, x: string, heads: number, headDim: number): string {
  const r = b.op("Reshape", [x, b.int64s([0, 0, heads, headDim])]);
  return b.op("Transpose", [r], { perm: [0, 2, 1, 3] });
}

/** (B, heads, S, dim) -> (B, S, heads*dim) */
export function mergeHeads(b: GraphBuilder, x: string, heads: number, headDim: number): string {
  const t = b.op("Transpose", [x], { perm: [0, 2, 1, 3] });
  return b.op("Reshape", [t, b.int64s([0, 0, heads * headDim])]);
}

/**
 * RMSNorm as transformers' Qwen3RMSNorm and torch.nn.RMSNorm compute it in reduced precision: the
 * statistics and the normalisation in float32, the result cast back to the compute type, then
 * multiplied by the weight in the compute type (`weight * x.float().mul(rsqrt(...)).to(dtype)`).
 * In a float32 graph this is exactly rmsNorm.
 */
export function rmsNormUpcast(b: GraphBuilder, x: string, eps: number, weight: string, dim?: number): string {
  if (b.compute === "float32") return rmsNorm(b, x, eps, weight, dim);
  const x32 = b.cast(x, "float32");
  const sq = b.op("Mul", [x32, x32]);
  const mean = b.op("ReduceMean", [sq, b.int64s([-1])], { keepdims: 1 });
  const denom = b.op("Sqrt", [b.op("Add", [mean, b.constant([eps], [])])]);
  const normed = b.cast(b.op("Mul", [x32, b.op("Reciprocal", [denom])]), b.compute);
  return b.op("Mul", [b.param(weight, dim ? [dim] : undefined), normed]);
}

/**
 * softmax(q k^T * scale (+ mask)) v in the compute type. In a float32 graph this is exactly
 * `attention`. In float16/bfloat16, q and k are each scaled by sqrt(scale) before the product, as
 * torch's math SDPA does, so q k^T cannot overflow float16 (the fused kernels accumulate and scale
 * in float32; a plain MatMul rounds its output to the compute type). The mask must be in the
 * compute type (finite minimum, not -inf, for masked entries); Softmax accumulates in float32 in
 * the CUDA kernels.
 */
export function attentionLowPrecision(b: GraphBuilder, q: string, k: string, v: string, headDim: number, mask?: string): string {
  if (b.compute === "float32") return attention(b, q, k, v, headDim, mask);
  const rootScale = b.constantCompute([Math.sqrt(1 / Math.sqrt(headDim))], []);
  const kt = b.op("Transpose", [b.op("Mul", [k, rootScale])], { perm: [0, 1, 3, 2] });
  let scores = b.op("MatMul", [b.op("Mul", [q, rootScale]), kt]);
  if (mask) scores = b.op("Add", [scores, mask]);
  return b.op("MatMul", [b.op("Softmax", [scores], { axis: -1 }), v]);
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
