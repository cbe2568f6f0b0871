/**
 * `sweep models import --reward KIND --synthetic tiny|real`: a reward model directory over seeded
 * random weights, for the quick paths (tiny) and for speed and memory figures at the real sizes
 * (real: ViT-H/14 for PickScore, HPSv2 and CLIP, OpenAI's ViT-L/14 for Aesthetic, BLIP's ViT-L/16
 * and BERT-base for ImageReward; bfloat16 as the real checkpoints are). The folder a user would have is written beside the output in the real
 * layout (open_clip keys for HPSv2), imported by the ordinary import, then removed.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GraphBuilder } from "../onnx/graph-builder.js";
import { ModelInputError } from "../model-error.js";
import { buildClipTextGraph, buildClipVisionGraph, clipImageEmbeds, parseClipConfig, parseClipVisionSection, type ClipConfig } from "../pickscore/clip-graphs.js";
import type { TensorLocation, WeightSource } from "../safetensors.js";
import {
  BYTES, CLIP_TOKENS, clipProcessorFiles, hash32, PIECE_BYTES, TensorRecorder, writeSafetensors, type PlannedTensor,
} from "../synthetic/synthetic-models.js";
import { IMAGE_REWARD_DIMS, imageRewardConfigJson, imageRewardTensorShapes, parseImageRewardConfig } from "../imagereward/imagereward-config.js";
import { syntheticImageRewardTokenizerFiles } from "../imagereward/synthetic-tokenizer.js";
import { AESTHETIC_LAYERS } from "./clip-rewards.js";
import { importReward } from "./import-reward.js";
import { openClipName } from "./open-clip-weights.js";
import type { RewardManifest, RewardName } from "./reward-manifest.js";
import type { SyntheticRewardSize } from "./reward-names.js";

export { SYNTHETIC_REWARD_SIZES, type SyntheticRewardSize } from "./reward-names.js";

interface Tower { hidden: number; layers: number; heads: number }
interface RewardDims { text?: Tower & { vocab: number }; vision: Tower; projection: number; act: "gelu" | "quick_gelu"; dtype: "F32" | "BF16" }

const AESTHETIC_MLP = [768, 1024, 128, 64, 16, 1];
// ViT-H/14 (laion's CLIP, HPSv2, PickScore) and OpenAI's ViT-L/14 (Aesthetic), as golden.json's real_dims give them.
const VIT_H14 = { text: { hidden: 1024, layers: 24, heads: 16, vocab: 49408 }, vision: { hidden: 1280, layers: 32, heads: 16 }, projection: 1024 };
const TINY = { text: { hidden: 32, layers: 2, heads: 2, vocab: CLIP_TOKENS }, vision: { hidden: 32, layers: 2, heads: 2 }, projection: 16 };

function dimsOf(reward: RewardName, size: SyntheticRewardSize): RewardDims {
  const dtype = size === "real" ? "BF16" : "F32";
  if (reward === "aesthetic") return { vision: size === "real" ? { hidden: 1024, layers: 24, heads: 16 } : TINY.vision, projection: 768, act: "quick_gelu", dtype };
  return { ...(size === "real" ? VIT_H14 : TINY), act: "gelu", dtype };
}

const tower = (t: Tower, act: string, projection: number) => ({
  hidden_act: act, hidden_size: t.hidden, intermediate_size: 4 * t.hidden, layer_norm_eps: 1e-5,
  num_attention_heads: t.heads, num_hidden_layers: t.layers, projection_dim: projection,
});
const vision = (d: RewardDims) => ({ ...tower(d.vision, d.act, d.projection), image_size: 224, patch_size: 14, num_channels: 3, model_type: "clip_vision_model" });

function configOf(reward: RewardName, d: RewardDims): Record<string, unknown> {
  if (reward === "aesthetic") return { ...vision(d), aesthetic_mlp: AESTHETIC_MLP };
  const text = d.text as Tower & { vocab: number };
  return {
    architectures: ["CLIPModel"], model_type: "clip", projection_dim: d.projection,
    // eos_token_id 2: pooled at the largest id, <|endoftext|> in the generated tokenizer (and in CLIP's)
    text_config: { ...tower(text, d.act, d.projection), vocab_size: text.vocab, max_position_embeddings: 77, eos_token_id: 2, model_type: "clip_text_model" },
    vision_config: vision(d),
  };
}

/** Records the HF-named tensors the graphs ask for, under open_clip's names where the checkpoint has them (q/k/v fused). */
class OpenClipRecorder implements WeightSource {
  constructor(private readonly inner: TensorRecorder) {}
  get(name: string, shape?: number[]): TensorLocation {
    const m = openClipName(name);
    if (!m || !shape) throw new Error(`synthetic hpsv2: no open_clip tensor for '${name}'`);
    const fused = m.third === undefined ? shape : [3 * shape[0], ...shape.slice(1)];
    return { ...this.inner.get(m.name, fused), shape };
  }
}

/** Every tensor the reward's graphs read, in the checkpoint's names, widest first then by name. */
function plannedTensors(reward: RewardName, d: RewardDims): PlannedTensor[] {
  const recorder = new TensorRecorder(d.dtype as "F32" | "BF16");
  const b = () => new GraphBuilder({ name: "record", compute: "float32", weights: reward === "hpsv2" ? new OpenClipRecorder(recorder) : recorder, location: () => "" });
  const configFile = `synthetic ${reward} config.json`;
  if (reward === "aesthetic") {
    const g = b();
    clipImageEmbeds(g, { vision: parseClipVisionSection(vision(d), "", configFile), projectionDim: d.projection }, g.input("pixel_values", "float32", [1, 3, 224, 224]));
    AESTHETIC_LAYERS.forEach((l, i) => {
      recorder.get(`layers.${l}.weight`, [AESTHETIC_MLP[i + 1], AESTHETIC_MLP[i]]);
      recorder.get(`layers.${l}.bias`, [AESTHETIC_MLP[i + 1]]);
    });
  } else {
    const cfg: ClipConfig = { ...parseClipConfig(configOf(reward, d), configFile), projectionLayout: reward === "hpsv2" ? "in_out" : "out_in" };
    buildClipVisionGraph(b(), cfg);
    buildClipTextGraph(b(), cfg);
  }
  const tensors: PlannedTensor[] = [...recorder.tensors].map(([name, shape]) => ({ name, shape, dtype: d.dtype }));
  if (reward !== "aesthetic") tensors.push({ name: "logit_scale", shape: [], dtype: "F32" });
  return widestFirst(tensors);
}

const widestFirst = (tensors: PlannedTensor[]) => tensors.sort((a, c) => BYTES[c.dtype] - BYTES[a.dtype] || (a.name < c.name ? -1 : a.name > c.name ? 1 : 0));
const writeJson = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/** Writes the folder's config and tokenizer or processor files into `dir`; returns the tensors its checkpoint holds. */
function writeSourceFiles(reward: RewardName, size: SyntheticRewardSize, dir: string): PlannedTensor[] {
  if (reward === "imagereward") {
    // the original ImageReward.pt keys, as the golden tiny folder has them (imagereward-config.ts)
    const dims = IMAGE_REWARD_DIMS[size];
    const config = imageRewardConfigJson(dims);
    writeJson(path.join(dir, "config.json"), config);
    for (const [name, text] of Object.entries(syntheticImageRewardTokenizerFiles(dims.text.vocab))) writeFileSync(path.join(dir, name), text);
    const shapes = imageRewardTensorShapes(parseImageRewardConfig(config, "synthetic imagereward config.json"));
    return widestFirst([...shapes].map(([name, shape]) => ({ name, shape, dtype: size === "real" ? "BF16" : "F32" })));
  }
  const d = dimsOf(reward, size);
  writeJson(path.join(dir, "config.json"), configOf(reward, d));
  for (const [name, text] of Object.entries(clipProcessorFiles())) if (reward !== "aesthetic" || name === "preprocessor_config.json") writeFileSync(path.join(dir, name), text);
  return plannedTensors(reward, d);
}

export async function importSyntheticReward(reward: RewardName, size: SyntheticRewardSize, out: string, log: (line: string) => void): Promise<RewardManifest> {
  const target = path.resolve(out);
  if (existsSync(target)) throw new ModelInputError(`--out ${target}: already exists; remove it or choose another folder`);
  const source = `${target}.source-${process.pid}`;
  rmSync(source, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  try {
    const started = performance.now();
    const tensors = writeSourceFiles(reward, size, source);
    const seed = hash32(`${reward}-${size}`, 0x5eed_0003);
    const buffers = [new ArrayBuffer(PIECE_BYTES), new ArrayBuffer(PIECE_BYTES)];
    const bytes = await writeSafetensors(path.join(source, "model.safetensors"), tensors, (t) => hash32(t.name, seed), buffers);
    const params = tensors.reduce((n, t) => n + t.shape.reduce((a, c) => a * c, 1), 0);
    log(`synthetic ${reward} (${size}): ${(params / 1e6).toFixed(1)}M parameters, ${(bytes / 1e9).toFixed(2)} GB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return await importReward({ reward, from: source, processor: reward === "pickscore" ? source : undefined, out: target, synthetic: `${reward}-${size}`, log });
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
}
