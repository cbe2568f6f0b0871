/**
 * The CUDA kernel table and the node check on tiny hand-built models: versions resolve as
 * onnxruntime resolves them (largest since-version <= the model's opset), each input is checked
 * against the constraint letter it is bound to, and the type pass feeds the right types in.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import { describe, expect, it } from "vitest";
import { cudaKernelMissing, resolveSinceVersion, tabulatedOps } from "../src/models/onnx/cuda-kernels.js";
import { GraphBuilder, MS_DOMAIN, OPSET, type ComputeType, type ElemType } from "../src/models/onnx/graph-builder.js";
import { inferElementTypes, nodesWithoutCudaKernel, opsetsOf } from "../src/models/onnx/type-inference.js";

// onnx-proto is CommonJS: its namespace comes through the default export under Node's ESM loader.
const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

/** A builder for graphs of inputs and ops only (no checkpoint behind it). */
function builder(compute: ComputeType = "float32"): GraphBuilder {
  return new GraphBuilder({
    name: "tiny",
    compute,
    weights: { get: (name) => { throw new Error(`no weights in this test (asked for ${name})`); } },
    location: (f) => f,
  });
}

/** The builder's model with the ai.onnx opset set to `opset`. */
function model(b: GraphBuilder, opset?: number): OnnxTypes.IModelProto {
  const m = onnx.ModelProto.decode(b.encode());
  if (opset !== undefined) for (const o of m.opsetImport) if (!o.domain) o.version = opset;
  return m;
}

/** One op over fresh inputs of the given types, its first output declared as `out`. */
function single(op: string, inputs: (ElemType | "")[], out: ElemType, opts: { attrs?: Record<string, number>; domain?: string; opset?: number } = {}) {
  const b = builder();
  const names = inputs.map((t, i) => (t === "" ? "" : b.input(`in${i}`, t, [1, 4])));
  const y = b.op(op, names, opts.attrs ?? {}, opts.domain ?? "");
  b.output(y, "y", out, [1, 4]);
  return model(b, opts.opset);
}

describe("the kernel table", () => {
  it("covers every op the graphs may use, in the domain the CUDA provider registers it", () => {
    const ops = tabulatedOps();
    expect(ops["ai.onnx"]).toEqual(expect.arrayContaining(["Conv", "Resize", "Cast", "CastLike", "MatMul", "LayerNormalization", "RMSNormalization", "GroupNormalization", "Attention", "RotaryEmbedding", "Loop", "If", "SimplifiedLayerNormalization"]));
    expect(ops["com.microsoft"].sort()).toEqual(["Attention", "BiasAdd", "BiasGelu", "BiasSplitGelu", "FastGelu", "GroupNorm", "GroupQueryAttention", "MultiHeadAttention", "NhwcConv", "QuickGelu", "RotaryEmbedding", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization"]);
  });

  it("resolves an op to the largest since-version at or below the opset", () => {
    expect(resolveSinceVersion("", "Cast", 22)).toBe(21);
    expect(resolveSinceVersion("ai.onnx", "Cast", 25)).toBe(25);
    expect(resolveSinceVersion("", "Conv", 21)).toBe(11);
    expect(resolveSinceVersion("", "Conv", 22)).toBe(22);
    expect(resolveSinceVersion("", "Attention", 22)).toBeUndefined();
    expect(resolveSinceVersion("com.microsoft", "MultiHeadAttention", 1)).toBe(1);
  });
});

describe("cudaKernelMissing", () => {
  const q = (op: string, opset: number, inputTypes: (string | undefined)[], domain = "") => cudaKernelMissing({ domain, op, opset, inputTypes });

  it("finds no bfloat16 Conv before opset 22, and one from 22", () => {
    expect(q("Conv", 21, ["bfloat16", "bfloat16", "bfloat16"])).toBe("ai.onnx Conv-11 (opset 21): input 0 (X) is bfloat16; the CUDA kernel [11, 21] accepts T = double, float, float16");
    expect(q("Conv", 22, ["bfloat16", "bfloat16", "bfloat16"])).toBeUndefined();
    expect(q("Conv", 21, ["float16", "float16", "float16"])).toBeUndefined();
  });

  it("checks each input against its own constraint letter, and skips omitted inputs", () => {
    // Reshape's shape is int64 whatever T is; Gather's indices are Tind
    expect(q("Reshape", 21, ["bfloat16", "int64"])).toBeUndefined();
    expect(q("Gather", 21, ["bfloat16", "int32"])).toBeUndefined();
    expect(q("Gather", 21, ["bfloat16", "float"])).toMatch(/input 1 \(indices\) is float; the CUDA kernel 13\+ accepts Tind = int32, int64/);
    // Cast constrains its input by T1 and its output by T2
    expect(cudaKernelMissing({ domain: "", op: "Cast", opset: 21, inputTypes: ["float"], outputTypes: ["bfloat16"] })).toBeUndefined();
    expect(cudaKernelMissing({ domain: "", op: "Cast", opset: 21, inputTypes: ["float4e2m1"], outputTypes: ["float"] })).toMatch(/input 0 \(input\) is float4e2m1/);
    // MultiHeadAttention: T for q/k/v, M (int32, not a kernel constraint) for the padding mask
    expect(q("MultiHeadAttention", 1, ["bfloat16", "bfloat16", "bfloat16", undefined, "int32"], "com.microsoft")).toBeUndefined();
    expect(q("MultiHeadAttention", 1, ["float16", "float16", "float16", undefined, "int32"], "com.microsoft")).toBeUndefined();
    expect(q("GroupNorm", 1, ["bfloat16", "float", "float"], "com.microsoft")).toMatch(/input 0 \(X\) is bfloat16; the CUDA kernel 1\+ accepts T = float, float16/);
    // a variadic input list is checked whole
    expect(q("Concat", 21, ["bfloat16", "bfloat16", "bfloat16"])).toBeUndefined();
  });

  it("checks registered type tuples where the kernel is not registered for the cross product", () => {
    expect(q("SimplifiedLayerNormalization", 21, ["bfloat16", "bfloat16"])).toBeUndefined();
    expect(q("SimplifiedLayerNormalization", 21, ["float16", "float"])).toBeUndefined();
    expect(q("SimplifiedLayerNormalization", 21, ["bfloat16", "float"])).toMatch(/types T = bfloat16, V = float are not a registered CUDA combination/);
    expect(q("RMSNormalization", 23, ["float", "bfloat16"])).toMatch(/not a registered CUDA combination of \(T, V\)/);
    // registered in ai.onnx by onnxruntime, not in com.microsoft
    expect(q("SimplifiedLayerNormalization", 1, ["float", "float"], "com.microsoft")).toBe("com.microsoft SimplifiedLayerNormalization: not in the CUDA kernel table (the CUDA provider registers SimplifiedLayerNormalization in ai.onnx)");
  });

  it("uses the registration whose version range holds the resolved version", () => {
    // Split-1 exists, but the CUDA kernels start at Split-2
    expect(q("Split", 1, ["float"])).toBe("ai.onnx Split-1 (opset 1): no CUDA kernel for this version (registered: 18+, [13, 17], [11, 12], [2, 10])");
    // Equal-7's kernel [7, 10] has no float; Equal-11's has
    expect(q("Equal", 10, ["float", "float"])).toMatch(/Equal-7 \(opset 10\): input 0 \(A\) is float; the CUDA kernel \[7, 10\] accepts T = bool, int32, int64/);
    expect(q("Equal", 11, ["float", "float"])).toBeUndefined();
    // Clip-11's kernel is float only, Clip-12's takes float16
    expect(q("Clip", 11, ["float16"])).toMatch(/Clip-11 \(opset 11\): input 0 \(input\) is float16; the CUDA kernel 11 accepts T = float/);
    expect(q("Clip", 12, ["float16"])).toBeUndefined();
    // Pow: a bfloat16 exponent from Pow-15 on
    expect(q("Pow", 14, ["bfloat16", "bfloat16"])).toMatch(/Pow-13 \(opset 14\): input 1 \(Y\) is bfloat16; the CUDA kernel \[13, 14\] accepts T1 = /);
    expect(q("Pow", 15, ["bfloat16", "bfloat16"])).toBeUndefined();
    // no CUDA kernel at all (an ONNX function), and no schema yet
    expect(q("CastLike", 21, ["float", "bfloat16"])).toMatch(/^ai\.onnx CastLike-21 \(opset 21\): no CUDA kernel registered \(an ONNX function/);
    expect(q("RotaryEmbedding", 22, ["float"])).toBe("ai.onnx RotaryEmbedding: no schema at opset 22");
  });
});

describe("nodesWithoutCudaKernel on tiny models", () => {
  it("reports an opset-21 bfloat16 Conv and passes an opset-22 one", () => {
    const conv = (opset: number) => single("Conv", ["bfloat16", "bfloat16"], "bfloat16", { opset });
    expect(nodesWithoutCudaKernel(conv(21))).toEqual(["Conv_0: Conv(bfloat16, bfloat16): ai.onnx Conv-11 (opset 21): input 0 (X) is bfloat16; the CUDA kernel [11, 21] accepts T = double, float, float16"]);
    expect(nodesWithoutCudaKernel(conv(22))).toEqual([]);
  });

  it("reports a bfloat16 Cos and a bfloat16 Resize, not float16 ones", () => {
    expect(nodesWithoutCudaKernel(single("Cos", ["bfloat16"], "bfloat16"))).toEqual([expect.stringMatching(/^Cos_0: Cos\(bfloat16\): ai\.onnx Cos-\d+ \(opset \d+\): input 0 \(input\) is bfloat16/)]);
    expect(nodesWithoutCudaKernel(single("Cos", ["float16"], "float16"))).toEqual([]);
    const resize = (t: ElemType) => single("Resize", [t, "", "float32"], t, { opset: 21 });
    expect(nodesWithoutCudaKernel(resize("bfloat16"))).toEqual(["Resize_0: Resize(bfloat16, -, float): ai.onnx Resize-19 (opset 21): input 0 (X) is bfloat16; the CUDA kernel 19+ accepts T1 = double, float, float16, int32, uint8"]);
    expect(nodesWithoutCudaKernel(resize("float16"))).toEqual([]);
  });

  it("passes com.microsoft MultiHeadAttention in bfloat16 and float16 (with an int32 padding mask)", () => {
    for (const t of ["bfloat16", "float16"] as const) {
      const m = single("MultiHeadAttention", [t, t, t, "", "int32"], t, { attrs: { num_heads: 2 }, domain: MS_DOMAIN });
      expect([...opsetsOf(m)]).toEqual([["ai.onnx", OPSET], [MS_DOMAIN, 1]]);
      expect(nodesWithoutCudaKernel(m)).toEqual([]);
    }
  });

  it("follows the types through Cast, Shape, comparisons and Where into the nodes after them", () => {
    const b = builder();
    const x = b.input("x", "float32", [4]);
    const h = b.cast(x, "bfloat16");
    const shape = b.op("Shape", [h]);
    const mask = b.op("Greater", [x, b.constant([0], [1])]);
    const picked = b.op("Where", [mask, h, b.cast(b.constant([0], [1]), "bfloat16")]);
    const cos = b.op("Cos", [picked]);
    b.output(cos, "y", "bfloat16", [4]);
    b.output(shape, "s", "int64", [1]);
    const m = model(b);
    const { types, errors } = inferElementTypes(m);
    expect(errors).toEqual([]);
    expect([h, shape, mask, picked, cos].map((v) => types.get(v))).toEqual(["bfloat16", "int64", "bool", "bfloat16", "bfloat16"]);
    expect(nodesWithoutCudaKernel(m)).toEqual([expect.stringMatching(/^Cos_\d+: Cos\(bfloat16\): ai\.onnx Cos-\d+ \(opset \d+\)/)]);
  });

  it("types ConstantOfShape by its value, Range by its inputs, and reports mixed types and wrong outputs", () => {
    const b = builder();
    const n = b.input("n", "int64", [1]);
    const zeros = b.op("ConstantOfShape", [n]);
    const r = b.op("Range", [b.int64s([0]), n, b.int64s([1])]);
    const bad = b.op("Add", [b.cast(zeros, "bfloat16"), zeros]);
    b.output(r, "r", "int64", ["n"]);
    b.output(bad, "y", "float16", ["n"]);
    const m = model(b);
    const { types, errors } = inferElementTypes(m);
    expect(types.get(zeros)).toBe("float");
    expect(types.get(r)).toBe("int64");
    expect(errors).toEqual([
      `${bad} (Add): inputs bound to T have types bfloat16, float`,
      "output y is bfloat16, declared float16",
    ]);
  });

  it("walks Loop bodies with the outer values in scope, and names the node inside", () => {
    const vi = (name: string, t: number): OnnxTypes.IValueInfoProto => ({ name, type: { tensorType: { elemType: t } } });
    const body: OnnxTypes.IGraphProto = {
      name: "body",
      input: [vi("i", DT.INT64), vi("c", DT.BOOL), vi("acc", DT.BFLOAT16)],
      node: [
        { name: "inner_cos", opType: "Cos", input: ["acc"], output: ["acc_cos"] },
        { name: "inner_add", opType: "Add", input: ["acc_cos", "outer"], output: ["acc_next"] },
        { name: "inner_cond", opType: "Identity", input: ["c"], output: ["c_next"] },
      ],
      output: [vi("c_next", DT.BOOL), vi("acc_next", DT.BFLOAT16)],
    };
    const m: OnnxTypes.IModelProto = {
      irVersion: 10,
      opsetImport: [{ domain: "", version: 21 }],
      graph: {
        name: "loop",
        input: [vi("trips", DT.INT64), vi("go", DT.BOOL), vi("start", DT.BFLOAT16), vi("outer", DT.BFLOAT16)],
        node: [{ name: "the_loop", opType: "Loop", input: ["trips", "go", "start"], output: ["final"], attribute: [{ name: "body", type: onnx.AttributeProto.AttributeType.GRAPH, g: body }] }],
        output: [vi("final", DT.BFLOAT16)],
      },
    };
    const { types, errors } = inferElementTypes(m);
    expect(errors).toEqual([]);
    expect(types.get("final")).toBe("bfloat16");
    expect(types.get("the_loop.body/acc_next")).toBe("bfloat16");
    expect(nodesWithoutCudaKernel(m)).toEqual([expect.stringMatching(/^the_loop\.body\/inner_cos: Cos\(bfloat16\): ai\.onnx Cos-\d+ \(opset \d+\)/)]);
  });

  it("types If by its branches' outputs, and reports branches that disagree", () => {
    const vi = (name: string, t: number): OnnxTypes.IValueInfoProto => ({ name, type: { tensorType: { elemType: t } } });
    const branch = (name: string, op: string, t: number): OnnxTypes.IGraphProto => ({
      name,
      node: [{ name: `${name}_op`, opType: op, input: ["x"], output: [`${name}_y`] }],
      output: [vi(`${name}_y`, t)],
    });
    const ifModel = (elseType: number): OnnxTypes.IModelProto => ({
      opsetImport: [{ domain: "", version: 21 }],
      graph: {
        input: [vi("flag", DT.BOOL), vi("x", DT.FLOAT16)],
        node: [{
          name: "choose", opType: "If", input: ["flag"], output: ["y"],
          attribute: [
            { name: "then_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch("then", "Sin", DT.FLOAT16) },
            { name: "else_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch("else", "Neg", elseType) },
          ],
        }],
        output: [vi("y", DT.FLOAT16)],
      },
    });
    const fine = inferElementTypes(ifModel(DT.FLOAT16));
    expect(fine.errors).toEqual([]);
    expect(fine.types.get("y")).toBe("float16");
    expect(nodesWithoutCudaKernel(ifModel(DT.FLOAT16))).toEqual([]);
    expect(inferElementTypes(ifModel(DT.BFLOAT16)).errors).toEqual([
      "choose.else_branch: output else_y is float16, declared bfloat16",
      "choose (If): output 0 is float16 in then_branch, bfloat16 in else_branch",
    ]);
  });
});
