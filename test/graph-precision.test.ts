/**
 * The five graphs in float16 and bfloat16 compute (float32 at the boundary) against the float32
 * golden traces of the tiny checkpoints.
 *
 * onnxruntime's CPU provider has few float16/bfloat16 kernels: for float16 it wraps the missing ones
 * in casts to float32 (so a CPU run is mostly float32 arithmetic), and for bfloat16 it has almost
 * none, so a bfloat16 session cannot be created at all. What this file checks:
 * 1. every graph builds for every compute type with the float32 signature, and is type-correct:
 *    a static type pass over the nodes, and onnxruntime's own load (which type-checks the whole
 *    graph before it assigns kernels) fails, if at all, only for a missing CPU kernel;
 * 2. every node of the reduced-precision graphs has a CUDA kernel for its (domain, op, opset, types)
 *    (src/models/onnx/cuda-kernels.json, from onnxruntime's docs/OperatorKernels.md), so a CUDA
 *    session puts every node on the GPU;
 * 3. numerics: the float16 graph as onnxruntime CPU runs it, and an emulation of the GPU's arithmetic
 *    for both types (the same graph rewritten to float32 where every node that yields a
 *    float16/bfloat16 value rounds it to that type: a kernel that computes in float32 and stores its
 *    result in the compute type, as the CUDA kernels do) against the float32 goldens.
 */
import path from "node:path";
import { writeFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";

// onnx-proto is CommonJS: its namespace comes through the default export under Node's ESM loader.
const { onnx } = onnxProto;
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { buildTextEncoderGraph, parseQwen3Config } from "../src/models/flux2/text-encoder-graph.js";
import { imageIds, ropeTables, textIds } from "../src/models/flux2/rope.js";
import { buildTransformerGraph, parseFlux2TransformerConfig } from "../src/models/flux2/transformer-graph.js";
import { buildVaeDecoderGraph, parseFlux2VaeConfig } from "../src/models/flux2/vae-decoder-graph.js";
import type { ComputeType, GraphBuilder } from "../src/models/onnx/graph-builder.js";
import { inferElementTypes, nodesWithoutCudaKernel } from "../src/models/onnx/type-inference.js";
import { buildClipTextGraph, buildClipVisionGraph, parseClipConfig } from "../src/models/pickscore/clip-graphs.js";
import { builderFor, float32Of, flux2Dir, loadTrace, readJson, relativeError, scratchDir, type TraceTensor } from "./flux2-reference.js";

const DT = onnx.TensorProto.DataType;

/** Ops whose output holds values of its inputs unchanged: no rounding to emulate. */
const VALUE_PRESERVING = new Set(["Reshape", "Transpose", "Slice", "Concat", "Split", "Gather", "GatherND", "Unsqueeze", "Expand", "Identity", "Neg", "Where", "DepthToSpace", "Resize", "Shape"]);

/**
 * The graph in float32 arithmetic with every float16/bfloat16 value rounded to its type where a
 * kernel would store it: Cast to the type and back after each node that yields it.
 */
function emulate(model: OnnxTypes.IModelProto, types: Map<string, string>, compute: "float16" | "bfloat16"): OnnxTypes.IModelProto {
  const low = compute === "float16" ? DT.FLOAT16 : DT.BFLOAT16;
  // the golden checkpoints are float32: every reduced-precision value comes out of a node
  expect((model.graph!.initializer ?? []).filter((t) => t.dataType === low).map((t) => t.name)).toEqual([]);
  const nodes: OnnxTypes.INodeProto[] = [];
  let k = 0;
  const roundTrip = (from: string, to: string) => {
    const mid = `${to}__emul${k++}`;
    nodes.push({ opType: "Cast", input: [from], output: [mid], name: mid, attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: low }] });
    nodes.push({ opType: "Cast", input: [mid], output: [to], name: `${mid}_back`, attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }] });
  };
  for (const n of model.graph!.node ?? []) {
    const yieldsLow = (n.output ?? []).some((o) => types.get(o) === compute);
    if (!yieldsLow || VALUE_PRESERVING.has(n.opType!)) {
      nodes.push(n);
      continue;
    }
    if (n.opType === "Cast") {
      roundTrip(n.input![0], n.output![0]);
      continue;
    }
    const renamed = (n.output ?? []).map((o) => `${o}__f32`);
    nodes.push({ ...n, output: renamed });
    n.output!.forEach((o, i) => roundTrip(renamed[i], o));
  }
  return { ...model, graph: { ...model.graph, node: nodes } };
}

interface Case {
  label: string;
  feeds: () => Record<string, ort.Tensor>;
  output: string;
  expected: () => Float32Array;
}

interface GraphSpec {
  name: string;
  build: (compute: ComputeType) => GraphBuilder;
  cases: Case[];
  /**
   * Where the reduced-precision reference itself rounds an input before its float32 arithmetic
   * (the transformer's timestep): the float32 graph's inputs that reproduce that rounding, so the
   * arithmetic error can be told apart from the deliberate rounding.
   */
  roundedInputs?: (compute: ComputeType, feeds: Record<string, ort.Tensor>) => Record<string, ort.Tensor>;
}

/** x rounded to nearest-even with `bits` explicit mantissa bits (normal numbers): 7 bfloat16, 10 float16. */
function roundTo(x: number, bits: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - bits);
  const q = x / ulp;
  const r = Math.round(q);
  const even = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : r;
  return even * ulp;
}

const dir = scratchDir();
const traceCache = new Map<string, Map<string, TraceTensor>>();
const trace = (name: string) => {
  if (!traceCache.has(name)) traceCache.set(name, loadTrace(name as never));
  return traceCache.get(name)!;
};
const int64 = (t: Map<string, TraceTensor>, key: string) => {
  const v = t.get(key)!;
  return new ort.Tensor("int64", v.data as BigInt64Array, v.dims);
};
const f32 = (t: Map<string, TraceTensor>, key: string) => {
  const v = t.get(key)!;
  return new ort.Tensor("float32", v.data as Float32Array, v.dims);
};

const tiny = (p: string) => path.join(flux2Dir, p);
const qwen = parseQwen3Config(readJson(tiny("FLUX.2-klein-tiny/text_encoder/config.json")), "text_encoder/config.json");
const dit = parseFlux2TransformerConfig(readJson(tiny("FLUX.2-klein-tiny/transformer/config.json")), "transformer/config.json");
const vae = parseFlux2VaeConfig(readJson(tiny("FLUX.2-klein-tiny/vae/config.json")), "vae/config.json");
const clip = parseClipConfig(readJson(tiny("PickScore-tiny/config.json")), "PickScore-tiny/config.json");
const TEXT = 512;

function transformerCase(name: string, rows: number, cols: number, step: number): Case {
  return {
    label: `${name} step ${step}`,
    feeds: () => {
      const t = trace(name);
      const S = rows * cols;
      const { cos, sin } = ropeTables([...textIds(TEXT), ...imageIds(rows, cols)], dit.axesDimsRope, dit.ropeTheta);
      return {
        latents: f32(t, `step${step}_latents_in`),
        timestep: f32(t, `step${step}_timestep`),
        prompt_embeds: f32(t, "prompt_embeds"),
        rope_cos: new ort.Tensor("float32", cos, [TEXT + S, dit.attentionHeadDim]),
        rope_sin: new ort.Tensor("float32", sin, [TEXT + S, dit.attentionHeadDim]),
      };
    },
    output: "velocity",
    expected: () => float32Of(trace(name), `step${step}_velocity`),
  };
}

const GRAPHS: GraphSpec[] = [
  {
    name: "text_encoder",
    build: (compute) => {
      const b = builderFor(dir, "FLUX.2-klein-tiny/text_encoder", "model", `qwen3_${compute}`, compute);
      buildTextEncoderGraph(b, qwen, { maxLength: 512, layers: [9, 18, 27] });
      return b;
    },
    cases: ["trace_case0_seed0", "trace_case1_seed3"].map((name) => ({
      label: name,
      feeds: () => ({ input_ids: int64(trace(name), "qwen_input_ids"), attention_mask: int64(trace(name), "qwen_attention_mask") }),
      output: "prompt_embeds",
      expected: () => float32Of(trace(name), "prompt_embeds"),
    })),
  },
  {
    name: "transformer",
    build: (compute) => {
      const b = builderFor(dir, "FLUX.2-klein-tiny/transformer", "diffusion_pytorch_model", `flux2_dit_${compute}`, compute);
      buildTransformerGraph(b, dit, { textLength: TEXT });
      return b;
    },
    cases: [0, 1, 2, 3].map((step) => transformerCase("trace_case0_seed0", 8, 8, step)).concat([transformerCase("trace_case1_seed3", 8, 12, 2)]),
    // Flux2DiT: timestep.to(dtype) * 1000 in the dtype, then float32; the float32 graph multiplies
    // its input by 1000 in float32, so it is fed (rounded product) / 1000.
    roundedInputs: (compute, feeds) => {
      const bits = compute === "bfloat16" ? 7 : 10;
      const sigma = feeds.timestep.data as Float32Array;
      const t = sigma.map((s) => Math.fround(roundTo(Math.fround(roundTo(s, bits) * 1000), bits) / 1000));
      return { ...feeds, timestep: new ort.Tensor("float32", t, feeds.timestep.dims) };
    },
  },
  {
    name: "vae_decoder",
    build: (compute) => {
      const b = builderFor(dir, "FLUX.2-klein-tiny/vae", "diffusion_pytorch_model", `flux2_vae_${compute}`, compute);
      buildVaeDecoderGraph(b, vae);
      return b;
    },
    cases: ["trace_case0_seed0", "trace_case1_seed3"].map((name) => ({
      label: name,
      feeds: () => ({ latents: f32(trace(name), "vae_in") }),
      output: "image",
      expected: () => float32Of(trace(name), "vae_out"),
    })),
  },
  {
    name: "clip_vision",
    build: (compute) => {
      const b = builderFor(dir, "PickScore-tiny", "model", `clip_vision_${compute}`, compute);
      buildClipVisionGraph(b, clip);
      return b;
    },
    cases: ["trace_case0_seed0", "trace_case1_seed3", "trace_case2_seed4"].map((name) => ({
      label: name,
      feeds: () => ({ pixel_values: f32(trace(name), "pixel_values") }),
      output: "image_embeds",
      expected: () => float32Of(trace(name), "image_embeds"),
    })),
  },
  {
    name: "clip_text",
    build: (compute) => {
      const b = builderFor(dir, "PickScore-tiny", "model", `clip_text_${compute}`, compute);
      buildClipTextGraph(b, clip);
      return b;
    },
    cases: ["trace_case0_seed0", "trace_case1_seed3", "trace_case2_seed4"].map((name) => ({
      label: name,
      feeds: () => ({ input_ids: int64(trace(name), "clip_input_ids") }),
      output: "text_embeds",
      expected: () => float32Of(trace(name), "text_embeds"),
    })),
  },
];

/**
 * Bounds on max|a - e| / max|e| against the float32 goldens, worst case over the cases. `cpu` is
 * the float16 graph as onnxruntime CPU runs it (its inserted casts make that mostly float32
 * arithmetic); `gpu` the rounding emulation. Measured (onnxruntime-node 1.29, x64):
 *                 float16 cpu  float16 gpu  bfloat16 gpu
 *   text_encoder     3.3e-3       5.3e-3       3.0e-2
 *   transformer      7.7e-4       8.4e-4       7.4e-3   (golden: 1.4e-2, 2.9e-1)
 *   vae_decoder      9.6e-4       2.2e-3       1.5e-2
 *   clip_vision      5.4e-4       8.8e-4       3.9e-3
 *   clip_text        8.7e-4       9.4e-4       5.3e-3
 */
const BOUNDS: Record<string, Record<"float16" | "bfloat16", { cpu?: number; gpu: number; golden?: number }>> = {
  text_encoder: { float16: { cpu: 2e-2, gpu: 2e-2 }, bfloat16: { gpu: 6e-2 } },
  // gpu: against the float32 graph at the rounded timestep; golden: against the trace, where the
  // timestep rounding itself dominates (sigma 0.967384 -> 968 instead of 967.384 in bfloat16)
  transformer: { float16: { cpu: 2e-2, gpu: 2e-2, golden: 4e-2 }, bfloat16: { gpu: 6e-2, golden: 0.6 } },
  vae_decoder: { float16: { cpu: 2e-2, gpu: 2e-2 }, bfloat16: { gpu: 6e-2 } },
  clip_vision: { float16: { cpu: 2e-2, gpu: 2e-2 }, bfloat16: { gpu: 6e-2 } },
  clip_text: { float16: { cpu: 2e-2, gpu: 2e-2 }, bfloat16: { gpu: 6e-2 } },
};

const measured: string[] = [];

async function open(model: OnnxTypes.IModelProto | Uint8Array, file: string): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  const p = path.join(dir, file);
  writeFileSync(p, bytes);
  return ort.InferenceSession.create(p, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
}

async function errorsOf(s: ort.InferenceSession, c: Case): Promise<number> {
  const out = await s.run(c.feeds());
  expect(out[c.output].type).toBe("float32");
  return relativeError(out[c.output].data as Float32Array, c.expected());
}

describe.each(GRAPHS)("$name graph in reduced precision", (spec) => {
  const signature = spec.build("float32").describe();

  describe.each(["float16", "bfloat16"] as const)("%s", (compute) => {
    let bytes: Uint8Array;
    let model: OnnxTypes.IModelProto;
    let types: Map<string, string>;
    let typeErrors: string[];

    beforeAll(() => {
      const b = spec.build(compute);
      expect(b.describe()).toEqual(signature);
      bytes = b.encode();
      model = onnx.ModelProto.decode(bytes);
      ({ types, errors: typeErrors } = inferElementTypes(model));
    });

    it("has the float32 graph's inputs and outputs and consistent types, and computes in the type", () => {
      expect(typeErrors).toEqual([]);
      const counts = { low: 0, float: 0 };
      for (const n of model.graph!.node!) {
        const t = types.get(n.output![0]);
        if (n.opType === "MatMul") counts[t === compute ? "low" : "float"]++;
      }
      // every MatMul (linear layers, attention) runs in the compute type
      expect(counts).toEqual({ low: expect.any(Number), float: 0 });
      expect(counts.low).toBeGreaterThan(0);
    });

    it("has a CUDA kernel for every node", () => {
      const missing = nodesWithoutCudaKernel(model);
      console.log(`${spec.name} ${compute}: ${model.graph!.node!.length} nodes, on the CPU: ${missing.length ? missing.join("; ") : "none"}`);
      expect(missing).toEqual([]);
    });

    it("loads in onnxruntime CPU, or fails only for a missing CPU kernel", async () => {
      try {
        await open(bytes, `${spec.name}_${compute}.onnx`);
        measured.push(`${spec.name} ${compute}: CPU session created`);
      } catch (e) {
        const message = String(e);
        // the load (type and shape inference over the whole graph) passed; only kernel lookup failed
        expect(message).toMatch(/Could not find an implementation for (\w+)\(\d+\) node/);
        expect(compute).toBe("bfloat16");
        measured.push(`${spec.name} ${compute}: no CPU session: ${/Could not find an implementation for \w+\(\d+\)/.exec(message)![0]}`);
      }
    });

    if (compute === "float16") {
      it("onnxruntime CPU's float16 run matches the float32 goldens", async () => {
        const s = await open(bytes, `${spec.name}_${compute}_run.onnx`);
        let worst = 0;
        for (const c of spec.cases) worst = Math.max(worst, await errorsOf(s, c));
        measured.push(`${spec.name} float16 CPU run: ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(BOUNDS[spec.name].float16.cpu!);
      });
    }

    it("the GPU rounding emulation matches the float32 goldens", async () => {
      const s = await open(emulate(model, types, compute), `${spec.name}_${compute}_emulated.onnx`);
      const bounds = BOUNDS[spec.name][compute];
      let worst = 0;
      if (spec.roundedInputs) {
        // arithmetic error: against the float32 graph fed the inputs as the reference rounds them
        const reference = await open(spec.build("float32").encode(), `${spec.name}_float32.onnx`);
        let golden = 0;
        for (const c of spec.cases) {
          const feeds = c.feeds();
          const mine = (await s.run(feeds))[c.output].data as Float32Array;
          const same = (await reference.run(spec.roundedInputs(compute, feeds)))[c.output].data as Float32Array;
          worst = Math.max(worst, relativeError(mine, same));
          golden = Math.max(golden, relativeError(mine, c.expected()));
        }
        measured.push(`${spec.name} ${compute} emulated vs golden (rounded timestep included): ${golden.toExponential(2)}`);
        expect(golden).toBeLessThanOrEqual(bounds.golden!);
      } else {
        for (const c of spec.cases) worst = Math.max(worst, await errorsOf(s, c));
      }
      measured.push(`${spec.name} ${compute} emulated: ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(bounds.gpu);
    });
  });
});

describe("summary", () => {
  it("prints the measured errors", () => {
    console.log(measured.join("\n"));
  });
});
