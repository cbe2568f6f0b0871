/** The FLUX.2 VAE decode graph against DiffSynth-Studio's own vae_in -> vae_out traces. */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { buildVaeDecoderGraph, parseFlux2VaeConfig } from "../src/models/flux2/vae-decoder-graph.js";
import { ModelInputError } from "../src/models/model-error.js";
import { builderFor, float32Of, flux2Dir, loadTrace, readJson, relativeError, scratchDir, session } from "./flux2-reference.js";

const configFile = path.join(flux2Dir, "FLUX.2-klein-tiny/vae/config.json");
const config = readJson<Record<string, unknown>>(configFile);

describe("FLUX.2 VAE decoder graph", () => {
  const dir = scratchDir();
  let decoder: ort.InferenceSession;

  beforeAll(async () => {
    const b = builderFor(dir, "FLUX.2-klein-tiny/vae", "diffusion_pytorch_model", "flux2_vae_decoder");
    buildVaeDecoderGraph(b, parseFlux2VaeConfig(config, configFile));
    decoder = await session(b, dir, "vae_decoder.onnx");
  });

  async function decode(latents: Float32Array, dims: number[]): Promise<ort.Tensor> {
    const out = await decoder.run({ latents: new ort.Tensor("float32", latents, dims) });
    return out.image;
  }

  it.each(["trace_case0_seed0", "trace_case1_seed3"] as const)("reproduces vae_out of %s", async (name) => {
    const trace = loadTrace(name);
    const vaeIn = trace.get("vae_in")!;
    const expected = trace.get("vae_out")!;
    const image = await decode(float32Of(trace, "vae_in"), vaeIn.dims);
    // Height and width stay in place (case 1 is 128 high, 192 wide).
    expect(image.dims).toEqual(expected.dims);
    const err = relativeError(image.data as Float32Array, float32Of(trace, "vae_out"));
    console.log(`${name}: max relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("decodes a batch of two as two single runs", async () => {
    const trace = loadTrace("trace_case0_seed0");
    const dims = trace.get("vae_in")!.dims;
    const single = float32Of(trace, "vae_in");
    const scaled = single.map((v) => 0.5 * v);
    const batch = new Float32Array(2 * single.length);
    batch.set(single);
    batch.set(scaled, single.length);
    const both = (await decode(batch, [2, ...dims.slice(1)])).data as Float32Array;
    const rows = [single, scaled];
    for (const [i, row] of rows.entries()) {
      const alone = (await decode(row, dims)).data as Float32Array;
      expect(relativeError(both.subarray(i * alone.length, (i + 1) * alone.length), alone)).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe("parseFlux2VaeConfig", () => {
  it("reads the tiny checkpoint's config", () => {
    expect(parseFlux2VaeConfig(config, configFile)).toEqual({
      blockOutChannels: [16, 32, 32, 32],
      layersPerBlock: 1,
      latentChannels: 32,
      normNumGroups: 8,
      usePostQuantConv: true,
      midBlockAddAttention: true,
    });
  });

  it.each([
    [{ _class_name: "AutoencoderKL" }, /"_class_name" must be "AutoencoderKLFlux2"/],
    [{ patch_size: [1, 1] }, /"patch_size" must be \[2, 2\]/],
    [{ block_out_channels: [16, 30, 32, 32] }, /"block_out_channels" must be multiples of norm_num_groups \(8\)/],
    [{ layers_per_block: 0 }, /"layers_per_block" must be a positive integer \(got 0\)/],
    [{ batch_norm_eps: "1e-4" }, /"batch_norm_eps" must be a positive number/],
    [{ mid_block_add_attention: undefined }, /"mid_block_add_attention" must be true or false/],
  ])("rejects %j naming the file and field", (patch, message) => {
    const bad = () => parseFlux2VaeConfig({ ...config, ...patch }, configFile);
    expect(bad).toThrow(ModelInputError);
    expect(bad).toThrow(message);
    expect(bad).toThrow(configFile);
  });
});
