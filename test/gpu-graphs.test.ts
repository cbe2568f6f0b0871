/**
 * The stage graphs at the real model's dimensions (FLUX.2-klein-4B, Qwen3-4B, the FLUX.2 VAE,
 * PickScore's ViT-H/14), as `--synthetic flux2-klein-4b` builds them, in the GPU's compute types:
 * their structure, checked without weights. Attention must be the fused op, never
 * MatMul -> Softmax -> MatMul, which would materialise every score matrix on the GPU; and every node
 * must have a kernel in onnxruntime's CUDA provider for its op, opset and input types
 * (src/models/onnx/cuda-kernels.json), or the provider would hand it to the CPU, with a copy of its
 * tensors across the bus each way.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import { describe, expect, it } from "vitest";
import { GRAPH_NAMES } from "../src/models/manifest.js";
import { GraphBuilder } from "../src/models/onnx/graph-builder.js";
import { attention } from "../src/models/onnx/layers.js";
import { nodesWithoutCudaKernel } from "../src/models/onnx/type-inference.js";
import { syntheticStageGraphs } from "../src/models/synthetic/synthetic-models.js";
import type { TensorLocation } from "../src/models/safetensors.js";

const { onnx } = onnxProto;

/** Ops a score matrix passes through between its two MatMuls (scale, mask, casts). */
const SCORE_OPS = new Set(["Mul", "Div", "Add", "Where", "Cast", "Transpose"]);

/** Every Softmax fed (through scale, mask or casts) by a MatMul and feeding a MatMul: unfused attention. */
function unfusedAttention(model: OnnxTypes.IModelProto): string[] {
  const nodes = model.graph!.node!;
  const producer = new Map<string, OnnxTypes.INodeProto>();
  const consumers = new Map<string, OnnxTypes.INodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const fromMatMul = (value: string, depth = 0): boolean => {
    const p = producer.get(value);
    if (!p || depth > 6) return false;
    if (p.opType === "MatMul") return true;
    return SCORE_OPS.has(p.opType!) && (p.input ?? []).some((i) => fromMatMul(i, depth + 1));
  };
  const intoMatMul = (value: string, depth = 0): boolean =>
    (consumers.get(value) ?? []).some((c) => c.opType === "MatMul" || (depth < 6 && SCORE_OPS.has(c.opType!) && (c.output ?? []).some((o) => intoMatMul(o, depth + 1))));
  return nodes.filter((n) => n.opType === "Softmax" && fromMatMul(n.input![0]) && intoMatMul(n.output![0])).map((n) => n.name!);
}

const decode = (b: GraphBuilder) => onnx.ModelProto.decode(b.encode());

describe("the unfused-attention walk", () => {
  it("finds MatMul -> scale -> Softmax -> MatMul, and not the fused op", () => {
    const weights = { get: (name: string, shape?: number[]): TensorLocation => ({ name, dtype: "F32", shape: shape!, file: "w", offset: 0, length: 4 * shape!.reduce((a, c) => a * c, 1) }) };
    const b = new GraphBuilder({ name: "t", compute: "float16", weights, location: () => "w" });
    const q = b.input("q", "float16", [1, 2, 8, 4]);
    const scores = b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [q], { perm: [0, 1, 3, 2] })]), b.constantCompute([0.5], [])]);
    b.output(b.op("MatMul", [b.op("Softmax", [scores], { axis: -1 }), q]), "y", "float16", [1, 2, 8, 4]);
    expect(unfusedAttention(decode(b))).toHaveLength(1);

    const f = new GraphBuilder({ name: "t", compute: "float16", weights, location: () => "w" });
    const x = f.input("x", "float16", [1, 8, 8]);
    f.output(attention(f, x, x, x, 2), "y", "float16", [1, 8, 8]);
    expect(unfusedAttention(decode(f))).toEqual([]);
  });
});

describe.each(["float16", "bfloat16"] as const)("flux2-klein-4b graphs in %s", (compute) => {
  const graphs = syntheticStageGraphs("flux2-klein-4b", compute);
  const models = Object.fromEntries(GRAPH_NAMES.map((g) => [g, decode(graphs[g])]));

  it.each(GRAPH_NAMES)("%s: attention only as the fused op, no MatMul-Softmax-MatMul", (g) => {
    const nodes = models[g].graph!.node!;
    expect(unfusedAttention(models[g])).toEqual([]);
    expect(nodes.filter((n) => n.opType === "Softmax")).toEqual([]);
    const fused = nodes.filter((n) => n.opType === "MultiHeadAttention" && n.domain === "com.microsoft").length;
    // layers with attention: 5 + 20 transformer blocks, 27 Qwen3 layers, 1 VAE mid block, 32 and 24 CLIP layers
    expect(fused).toBe({ transformer: 25, text_encoder: 27, vae_decoder: 1, clip_vision: 32, clip_text: 24 }[g]);
  });

  it.each(GRAPH_NAMES)("%s: every node has a CUDA kernel for its types", (g) => {
    expect(nodesWithoutCudaKernel(models[g])).toEqual([]);
  });
});
