import path from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { buildTextEncoderGraph, parseQwen3Config } from "../src/models/flux2/text-encoder-graph.js";
import { ModelInputError } from "../src/models/model-error.js";
import { builderFor, flux2Dir, float32Of, loadTrace, readJson, relativeError, scratchDir, session, TRACES } from "./flux2-reference.js";

const configFile = path.join(flux2Dir, "FLUX.2-klein-tiny/text_encoder/config.json");

describe("FLUX.2 Qwen3 text encoder graph", () => {
  const dir = scratchDir();
  const cfg = parseQwen3Config(readJson(configFile), configFile);
  let encoder: ort.InferenceSession;
  beforeAll(async () => {
    const b = builderFor(dir, "FLUX.2-klein-tiny/text_encoder", "model", "qwen3_text_encoder");
    buildTextEncoderGraph(b, cfg, { maxLength: 512, layers: [9, 18, 27] });
    encoder = await session(b, dir, "text_encoder.onnx");
  });

  it.each(TRACES)("reproduces prompt_embeds of %s", async (name) => {
    const trace = loadTrace(name);
    const feed = (key: string) => {
      const t = trace.get(key);
      if (!t || !(t.data instanceof BigInt64Array)) throw new Error(`trace has no int64 tensor ${key}`);
      return new ort.Tensor("int64", t.data, t.dims);
    };
    const out = await encoder.run({ input_ids: feed("qwen_input_ids"), attention_mask: feed("qwen_attention_mask") });
    const embeds = out.prompt_embeds;
    expect(embeds.dims).toEqual([1, 512, 3 * cfg.hiddenSize]);
    const err = relativeError(embeds.data as Float32Array, float32Of(trace, "prompt_embeds"));
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("refuses a config of another architecture, naming the file and field", () => {
    const bad = { ...readJson(configFile), architectures: ["LlamaForCausalLM"], model_type: "llama" };
    expect(() => parseQwen3Config(bad, configFile)).toThrow(ModelInputError);
    expect(() => parseQwen3Config(bad, configFile)).toThrow(`${configFile}: "architectures" must be a list including "Qwen3ForCausalLM"`);
  });
});
