import path from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { ModelInputError } from "../src/models/model-error.js";
import { imageIds, ropeTables, textIds } from "../src/models/flux2/rope.js";
import { buildTransformerGraph, parseFlux2TransformerConfig } from "../src/models/flux2/transformer-graph.js";
import { builderFor, float32Of, flux2Dir, loadTrace, readJson, relativeError, scratchDir, session, type TraceTensor } from "./flux2-reference.js";

const configFile = path.join(flux2Dir, "FLUX.2-klein-tiny/transformer/config.json");
const rawConfig = readJson<Record<string, unknown>>(configFile);
const cfg = parseFlux2TransformerConfig(rawConfig, configFile);
const TEXT = 512;
const dir = scratchDir();

/** The trace's (1, S, 4) int64 ids as rows. */
function idsOf(trace: Map<string, TraceTensor>, key: string): number[][] {
  const t = trace.get(key);
  if (!t || !(t.data instanceof BigInt64Array)) throw new Error(`trace has no int64 tensor ${key}`);
  const flat = Array.from(t.data, Number);
  return Array.from({ length: t.dims[1] }, (_, s) => flat.slice(4 * s, 4 * s + 4));
}

function stack(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("FLUX.2 transformer config", () => {
  it("reads the tiny checkpoint's config", () => {
    expect(cfg).toMatchObject({ inChannels: 128, outChannels: 128, numLayers: 1, numSingleLayers: 2, attentionHeadDim: 16, numAttentionHeads: 2 });
    expect(cfg).toMatchObject({ jointAttentionDim: 96, axesDimsRope: [4, 4, 4, 4], ropeTheta: 2000, eps: 1e-6, mlpRatio: 3 });
  });

  it.each([
    [{ guidance_embeds: true }, /config\.json: "guidance_embeds" is true; expected false/],
    [{ _class_name: "FluxTransformer2DModel" }, /"_class_name" is "FluxTransformer2DModel"; expected "Flux2Transformer2DModel"/],
    [{ axes_dims_rope: [4, 4, 4, 2] }, /"axes_dims_rope" .*summing to attention_head_dim \(16\), not 14/],
    [{ num_attention_heads: 2.5 }, /"num_attention_heads" is 2.5; expected a positive integer/],
    [{ joint_attention_dim: undefined }, /config\.json: "joint_attention_dim" is missing; expected a positive integer/],
  ])("rejects %j naming the file and field", (patch, message) => {
    const bad = { ...rawConfig, ...patch };
    expect(() => parseFlux2TransformerConfig(bad, configFile)).toThrow(ModelInputError);
    expect(() => parseFlux2TransformerConfig(bad, configFile)).toThrow(message);
  });
});

describe.each([
  ["trace_case0_seed0", 8, 8],
  ["trace_case1_seed3", 8, 12],
] as const)("FLUX.2 transformer on %s (%i x %i latents)", (name, rows, cols) => {
  const trace = loadTrace(name);
  const S = rows * cols;
  const prompt = float32Of(trace, "prompt_embeds");
  const { cos, sin } = ropeTables([...textIds(TEXT), ...imageIds(rows, cols)], cfg.axesDimsRope, cfg.ropeTheta);
  let model: ort.InferenceSession;

  beforeAll(async () => {
    const b = builderFor(dir, "FLUX.2-klein-tiny/transformer", "diffusion_pytorch_model", `flux2_dit_${name}`);
    buildTransformerGraph(b, cfg, { textLength: TEXT });
    model = await session(b, dir, `${name}.onnx`);
  });

  async function velocity(latents: Float32Array, timesteps: Float32Array, batch: number): Promise<Float32Array> {
    const out = await model.run({
      latents: new ort.Tensor("float32", latents, [batch, S, cfg.inChannels]),
      timestep: new ort.Tensor("float32", timesteps, [batch]),
      prompt_embeds: new ort.Tensor("float32", stack(Array(batch).fill(prompt)), [batch, TEXT, cfg.jointAttentionDim]),
      rope_cos: new ort.Tensor("float32", cos, [TEXT + S, cfg.attentionHeadDim]),
      rope_sin: new ort.Tensor("float32", sin, [TEXT + S, cfg.attentionHeadDim]),
    });
    expect(out.velocity.dims).toEqual([batch, S, cfg.outChannels]);
    return out.velocity.data as Float32Array;
  }

  it("builds the position ids the reference used (rows = height/16, cols = width/16)", () => {
    expect(idsOf(trace, "txt_ids")).toEqual(textIds(TEXT));
    expect(idsOf(trace, "img_ids")).toEqual(imageIds(rows, cols));
  });

  it.each([0, 1, 2, 3])("predicts step %i's velocity", async (step) => {
    const v = await velocity(float32Of(trace, `step${step}_latents_in`), float32Of(trace, `step${step}_timestep`), 1);
    const err = relativeError(v, float32Of(trace, `step${step}_velocity`));
    console.log(`${name} step ${step}: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("runs a batch of two steps: each row's bits depend on neither its position nor its neighbour", async () => {
    const steps = [0, 2];
    const latentsOf = (order: number[]) => stack(order.map((i) => float32Of(trace, `step${i}_latents_in`)));
    const timestepsOf = (order: number[]) => stack(order.map((i) => float32Of(trace, `step${i}_timestep`)));
    const v = await velocity(latentsOf(steps), timestepsOf(steps), 2);
    const swapped = await velocity(latentsOf([...steps].reverse()), timestepsOf([...steps].reverse()), 2);
    const twice = await velocity(latentsOf([steps[0], steps[0]]), timestepsOf([steps[0], steps[0]]), 2);
    const n = S * cfg.outChannels;
    const row = (x: Float32Array, r: number) => x.subarray(r * n, (r + 1) * n);
    for (const [r, step] of steps.entries()) {
      expect(relativeError(row(v, r), float32Of(trace, `step${step}_velocity`))).toBeLessThanOrEqual(1e-5);
      // The pipeline pads every batch to max_batch rows: within one batch size, a row's bits are its own.
      expect(row(v, r)).toEqual(row(swapped, 1 - r));
    }
    expect(row(v, 0)).toEqual(row(twice, 1));
  });
});
