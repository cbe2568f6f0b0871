/**
 * What a worker needs of a model directory to build graphs itself (the batch graph, per size): the
 * configs parsed again as the import parsed them, and the weights where the import linked them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseQwen3Config } from "./flux2/text-encoder-graph.js";
import { parseFlux2TransformerConfig } from "./flux2/transformer-graph.js";
import { parseFlux2VaeConfig } from "./flux2/vae-decoder-graph.js";
import type { ModelManifest } from "./manifest.js";
import { Checkpoint, type WeightSource } from "./safetensors.js";
import { ModelInputError } from "./model-error.js";
import { parseClipConfig } from "./pickscore/clip-graphs.js";
import type { StageConfigs } from "./stage-graphs.js";

export function readStageConfigs(dir: string, manifest: ModelManifest): StageConfigs {
  const read = (rel: string) => {
    const file = path.join(dir, rel);
    try {
      return { json: JSON.parse(readFileSync(file, "utf8")) as unknown, file };
    } catch (e) {
      throw new ModelInputError(`${file}: cannot be read as JSON (${(e as Error).message}); import the model again`);
    }
  };
  const c = manifest.configs;
  const text = read(c.text_encoder);
  const transformer = read(c.transformer);
  const vae = read(c.vae);
  const clip = read(c.clip);
  return {
    text: parseQwen3Config(text.json, text.file),
    transformer: parseFlux2TransformerConfig(transformer.json, transformer.file),
    vae: parseFlux2VaeConfig(vae.json, vae.file),
    clip: parseClipConfig(clip.json, clip.file),
  };
}

/** Each checkpoint's folder under a model directory's weights/ and its file stem (the import's layout). */
export const CHECKPOINT_STEMS = { text_encoder: "model", transformer: "diffusion_pytorch_model", vae: "diffusion_pytorch_model", pickscore: "model" } as const;

/** The weights of the listed checkpoints of a model directory as one source (their tensor names do not overlap). */
export function modelWeights(dir: string, keys: (keyof typeof CHECKPOINT_STEMS)[]): WeightSource {
  const checkpoints = keys.map((k) => new Checkpoint(path.join(dir, "weights", k), CHECKPOINT_STEMS[k]));
  return {
    get(name, shape) {
      const holder = checkpoints.find((c) => c.has(name));
      if (!holder) throw new ModelInputError(`${dir}: no checkpoint under weights/ holds '${name}'; import the model again`);
      return holder.get(name, shape);
    },
  };
}
