/**
 * The CLIP-family rewards: PickScore, HPSv2 and CLIP score (a text and a vision tower; DiffSynth's
 * score is exp(logit_scale) x cosine) and Aesthetic (a CLIP vision tower, its projection, then an
 * activation-free MLP head). All four share PickScore's tower graphs (pickscore/clip-graphs.ts),
 * parameterised by activation, sizes, projection layout and key names, and transformers'
 * CLIPImageProcessor. The activation is the real checkpoint's (docs/models.md): exact GELU for the
 * ViT-H/14 towers of HPSv2 and CLIP (DiffSynth's class hard-codes quick_gelu), quick_gelu for
 * Aesthetic's OpenAI ViT-L/14.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { GraphBuilder } from "../onnx/graph-builder.js";
import { ModelInputError } from "../model-error.js";
import { parseClipPreprocessorConfig } from "../pickscore/clip-preprocessor-config.js";
import {
  buildClipTextGraph, buildClipVisionGraph, clipImageEmbeds, parseClipConfig, parseClipVisionSection, readLogitScale,
  type ClipConfig, type ClipVisionConfig, type ClipVisionTowerConfig,
} from "../pickscore/clip-graphs.js";
import { Checkpoint, type WeightSource } from "../safetensors.js";
import { OpenClipWeights } from "./open-clip-weights.js";
import type { ParsedReward, RewardKind, RewardSources } from "./reward-kind.js";
import type { ClipImageConstants, RewardName } from "./reward-manifest.js";
import { readJsonObject } from "../json-file.js";


export function requireFolder(dir: string, flag: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelInputError(`${flag} ${dir}: not a folder`);
}

function requireFiles(dir: string, files: string[], why: string): void {
  for (const f of files) if (!existsSync(path.join(dir, f))) throw new ModelInputError(`${path.join(dir, f)}: file not found (${why})`);
}

/** The checkpoint layout a folder holds, by its keys: names the folder when it is another reward's. */
export function checkpointLayout(c: Checkpoint): "open_clip" | "hf-clip" | "hf-clip-vision-head" | "blip" | "unknown" {
  if (c.has("blip.visual_encoder.cls_token")) return "blip";
  if (c.has("visual.conv1.weight")) return "open_clip";
  if (c.has("text_model.embeddings.token_embedding.weight")) return "hf-clip";
  if (c.has("vision_model.embeddings.class_embedding") && c.has("layers.0.weight")) return "hf-clip-vision-head";
  return "unknown";
}

const LAYOUT_OWNER: Record<ReturnType<typeof checkpointLayout>, string> = {
  "open_clip": "open_clip keys (an HPSv2 checkpoint)",
  "hf-clip": "HF CLIPModel keys (a PickScore or CLIP checkpoint)",
  "hf-clip-vision-head": "a CLIP vision tower and an MLP head (an Aesthetic checkpoint)",
  "blip": "BLIP keys (an ImageReward checkpoint)",
  "unknown": "keys of no known reward",
};

export function requireLayout(c: Checkpoint, want: ReturnType<typeof checkpointLayout>, reward: RewardName): void {
  const got = checkpointLayout(c);
  if (got !== want) {
    throw new ModelInputError(`${c.files[0]}: has ${LAYOUT_OWNER[got]}; --reward ${reward} needs ${LAYOUT_OWNER[want]}: is this the right folder?`);
  }
}

/** Layers a checkpoint holds under `prefix` (prefix + N + "."). */
function countLayers(c: Checkpoint, prefix: string): number {
  const layers = new Set<number>();
  for (const name of c.tensors.keys()) {
    if (!name.startsWith(prefix)) continue;
    const n = /^(\d+)\./.exec(name.slice(prefix.length));
    if (n) layers.add(Number(n[1]));
  }
  return layers.size;
}

function requireLayers(c: Checkpoint, prefix: string, expected: number, configFile: string, field: string): void {
  const found = countLayers(c, prefix);
  if (found !== expected) {
    throw new ModelInputError(`${c.files[0]}: holds ${found} layers under '${prefix}N', but ${configFile} says ${field} ${expected}: the checkpoint and its config disagree`);
  }
}

function shapeOf(c: Checkpoint, name: string): number[] {
  const t = c.tensors.get(name);
  if (!t) throw new ModelInputError(`${c.files[0]}: tensor '${name}' is missing from the checkpoint`);
  return t.shape;
}

/** Builds every float32 graph in memory: every tensor's shape is checked against the config before anything is written. */
function dryBuild(graphs: Record<string, (b: GraphBuilder) => void>, weights: WeightSource): void {
  for (const [name, build] of Object.entries(graphs)) build(new GraphBuilder({ name, compute: "float32", weights, location: (f) => f }));
}

function clipImageConstants(dir: string): ClipImageConstants {
  const file = path.join(dir, "preprocessor_config.json");
  const c = parseClipPreprocessorConfig(readJsonObject(file), file);
  return { kind: "clip", size: c.size, crop_height: c.cropSize.height, crop_width: c.cropSize.width, mean: [...c.mean], std: [...c.std], rescale_factor: c.rescaleFactor };
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"];

// ---------------------------------------------------------------- PickScore, HPSv2, CLIP score

export interface ParsedClipPair extends ParsedReward {
  clip: ClipConfig;
  /** HF names (PickScore, CLIP) or open_clip names (HPSv2) */
  keys: "hf" | "open_clip";
  image: ClipImageConstants;
}

/** ViT-H/14 as HPSv2 and laion's CLIP have it, for an HPSv2 folder without config.json: what shapes cannot tell. */
const VIT_H14 = { textHeads: 16, visionHeads: 16, eps: 1e-5, act: "gelu", eosTokenId: 2 } as const;

/** HPSv2's dimensions from its open_clip tensors (the real folder may hold no config.json). */
function openClipConfigFromShapes(c: Checkpoint): ClipConfig {
  const [vocab, textHidden] = shapeOf(c, "token_embedding.weight");
  const [maxPositions] = shapeOf(c, "positional_embedding");
  const [visionHidden, channels, patch] = shapeOf(c, "visual.conv1.weight");
  const [tokens] = shapeOf(c, "visual.positional_embedding");
  const grid = Math.round(Math.sqrt(tokens - 1));
  const [, projectionDim] = shapeOf(c, "text_projection");
  const tower = (hidden: number, heads: number, prefix: string) => ({
    hiddenSize: hidden,
    intermediateSize: shapeOf(c, `${prefix}0.mlp.c_fc.weight`)[0],
    numLayers: countLayers(c, prefix),
    numHeads: heads,
    layerNormEps: VIT_H14.eps,
    hiddenAct: VIT_H14.act,
  });
  return {
    text: { ...tower(textHidden, VIT_H14.textHeads, "transformer.resblocks."), vocabSize: vocab, maxPositions, eosTokenId: VIT_H14.eosTokenId },
    vision: { ...tower(visionHidden, VIT_H14.visionHeads, "visual.transformer.resblocks."), imageSize: grid * patch, patchSize: patch, numChannels: channels },
    projectionDim,
    projectionLayout: "in_out",
  };
}

function clipPairKind(name: "pickscore" | "hpsv2" | "clip", folder: string): RewardKind<ParsedClipPair> {
  const keys = name === "hpsv2" ? "open_clip" : "hf";
  const kind: RewardKind<ParsedClipPair> = {
    name,
    folder,
    needsPrompt: true,
    needsProcessor: name === "pickscore",
    parse(src: RewardSources): ParsedClipPair {
      requireFolder(src.from, "--from");
      const processorDir = name === "pickscore" ? (src.processor as string) : src.from;
      if (name === "pickscore") {
        if (!src.processor) throw new ModelInputError("--reward pickscore needs --processor DIR (the CLIP processor folder, e.g. laion/CLIP-ViT-H-14-laion2B-s32B-b79K)");
        requireFolder(processorDir, "--processor");
      }
      const checkpoint = new Checkpoint(src.from, "model");
      requireLayout(checkpoint, keys === "open_clip" ? "open_clip" : "hf-clip", name);
      requireFiles(processorDir, TOKENIZER_FILES, "the CLIP processor's files");
      const configFile = path.join(src.from, "config.json");
      let clip: ClipConfig;
      if (keys === "hf" || existsSync(configFile)) {
        clip = { ...parseClipConfig(readJsonObject(configFile), configFile), projectionLayout: keys === "open_clip" ? "in_out" : "out_in" };
      } else {
        clip = openClipConfigFromShapes(checkpoint);
      }
      const [textPrefix, visionPrefix] = keys === "open_clip" ? ["transformer.resblocks.", "visual.transformer.resblocks."] : ["text_model.encoder.layers.", "vision_model.encoder.layers."];
      requireLayers(checkpoint, textPrefix, clip.text.numLayers, configFile, "text_config.num_hidden_layers");
      requireLayers(checkpoint, visionPrefix, clip.vision.numLayers, configFile, "vision_config.num_hidden_layers");
      const image = clipImageConstants(processorDir);
      if (image.crop_height !== clip.vision.imageSize || image.crop_width !== clip.vision.imageSize) {
        throw new ModelInputError(`${path.join(processorDir, "preprocessor_config.json")}: crop_size ${image.crop_height}x${image.crop_width} differs from the vision tower's image_size ${clip.vision.imageSize}`);
      }
      const parsed: ParsedClipPair = { weightsDir: src.from, weightsStem: "model", tokenizerDir: processorDir, processorDir, clip, keys, image };
      dryBuild(kind.graphs(parsed), kind.weights(parsed, checkpoint));
      readLogitScale(checkpoint);
      return parsed;
    },
    weights: (p, checkpoint) => (p.keys === "open_clip" ? new OpenClipWeights(checkpoint) : checkpoint),
    graphs: (p) => ({
      clip_vision: (b) => buildClipVisionGraph(b, p.clip),
      clip_text: (b) => buildClipTextGraph(b, p.clip),
    }),
    constants: (p, checkpoint) => ({
      scorer: "clip-pair",
      image: p.image,
      text_max_length: p.clip.text.maxPositions,
      logit_scale: readLogitScale(checkpoint),
      projection_dim: p.clip.projectionDim,
    }),
  };
  return kind;
}

export const pickscoreReward = clipPairKind("pickscore", "yuvalkirstain/PickScore_v1 (with --processor laion/CLIP-ViT-H-14-laion2B-s32B-b79K)");
export const hpsv2Reward = clipPairKind("hpsv2", "DiffSynth-Studio/ImageMetrics/HPSv2");
export const clipReward = clipPairKind("clip", "DiffSynth-Studio/ImageMetrics/CLIP-ViT-H-14-laion2B-s32B-b79K");

// ---------------------------------------------------------------- Aesthetic

export interface ParsedAesthetic extends ParsedReward {
  tower: ClipVisionTowerConfig;
  /** the head's widths, input first: 768, 1024, 128, 64, 16, 1 */
  mlp: number[];
  image: ClipImageConstants;
}

/** The improved-aesthetic-predictor head: Linear layers at these indices of `layers` (dropouts between, off in eval). */
export const AESTHETIC_LAYERS = [0, 2, 4, 6, 7];

/** OpenAI's ViT-L/14, for an Aesthetic folder without config.json: what shapes cannot tell. */
const VIT_L14 = { heads: 16, eps: 1e-5, act: "quick_gelu" } as const;

function aestheticFromShapes(c: Checkpoint): ClipVisionConfig {
  const [hidden, channels, patch] = shapeOf(c, "vision_model.embeddings.patch_embedding.weight");
  const [tokens] = shapeOf(c, "vision_model.embeddings.position_embedding.weight");
  return {
    hiddenSize: hidden,
    intermediateSize: shapeOf(c, "vision_model.encoder.layers.0.mlp.fc1.weight")[0],
    numLayers: countLayers(c, "vision_model.encoder.layers."),
    numHeads: VIT_L14.heads,
    layerNormEps: VIT_L14.eps,
    hiddenAct: VIT_L14.act,
    imageSize: Math.round(Math.sqrt(tokens - 1)) * patch,
    patchSize: patch,
    numChannels: channels,
  };
}

/** The head (float32, whatever the compute type: it is 1.2 M multiply-adds) on unit-length embeddings. */
function aestheticHead(b: GraphBuilder, x: string, mlp: number[]): string {
  let h = x;
  AESTHETIC_LAYERS.forEach((layer, i) => {
    const w = b.op("Transpose", [b.paramFloat32(`layers.${layer}.weight`, [mlp[i + 1], mlp[i]])], { perm: [1, 0] });
    h = b.op("Add", [b.op("MatMul", [h, w]), b.paramFloat32(`layers.${layer}.bias`, [mlp[i + 1]])]);
  });
  return b.op("Reshape", [h, b.int64s([-1])]);
}

export const aestheticReward: RewardKind<ParsedAesthetic> = {
  name: "aesthetic",
  folder: "DiffSynth-Studio/ImageMetrics/Aesthetic",
  needsPrompt: false,
  needsProcessor: false,
  parse(src: RewardSources): ParsedAesthetic {
    requireFolder(src.from, "--from");
    const checkpoint = new Checkpoint(src.from, "model");
    requireLayout(checkpoint, "hf-clip-vision-head", "aesthetic");
    requireFiles(src.from, ["preprocessor_config.json"], "CLIPImageProcessor's settings");
    const configFile = path.join(src.from, "config.json");
    let vision: ClipVisionConfig;
    let projectionDim: number;
    let mlp: number[];
    const fromShapes = AESTHETIC_LAYERS.map((l) => shapeOf(checkpoint, `layers.${l}.weight`));
    const shapeMlp = [fromShapes[0][1], ...fromShapes.map((s) => s[0])];
    if (existsSync(configFile)) {
      const json = readJsonObject(configFile);
      if (json.model_type !== "clip_vision_model") throw new ModelInputError(`${configFile}: model_type ${JSON.stringify(json.model_type ?? null)}; expected "clip_vision_model" (Aesthetic's CLIPVisionConfig)`);
      vision = parseClipVisionSection(json, "", configFile);
      projectionDim = typeof json.projection_dim === "number" ? json.projection_dim : shapeMlp[0];
      mlp = Array.isArray(json.aesthetic_mlp) ? (json.aesthetic_mlp as number[]) : shapeMlp;
      if (mlp.length !== shapeMlp.length || mlp.some((d, i) => d !== shapeMlp[i])) {
        throw new ModelInputError(`${configFile}: aesthetic_mlp ${JSON.stringify(mlp)}, but the checkpoint's layers.{${AESTHETIC_LAYERS.join(",")}} give ${JSON.stringify(shapeMlp)}`);
      }
    } else {
      vision = aestheticFromShapes(checkpoint);
      projectionDim = shapeOf(checkpoint, "visual_projection.weight")[0];
      mlp = shapeMlp;
    }
    requireLayers(checkpoint, "vision_model.encoder.layers.", vision.numLayers, configFile, "num_hidden_layers");
    if (mlp[0] !== projectionDim || mlp[mlp.length - 1] !== 1) {
      throw new ModelInputError(`${checkpoint.files[0]}: the head takes ${mlp[0]} and gives ${mlp[mlp.length - 1]}; the projection gives ${projectionDim} and the score is 1 value`);
    }
    const image = clipImageConstants(src.from);
    if (image.crop_height !== vision.imageSize || image.crop_width !== vision.imageSize) {
      throw new ModelInputError(`${path.join(src.from, "preprocessor_config.json")}: crop_size ${image.crop_height}x${image.crop_width} differs from the vision tower's image_size ${vision.imageSize}`);
    }
    const parsed: ParsedAesthetic = { weightsDir: src.from, weightsStem: "model", tokenizerDir: null, processorDir: src.from, tower: { vision, projectionDim }, mlp, image };
    dryBuild(aestheticReward.graphs(parsed), checkpoint);
    return parsed;
  },
  weights: (_p, checkpoint) => checkpoint,
  graphs: (p) => ({
    aesthetic: (b) => {
      const v = p.tower.vision;
      const pixels = b.input("pixel_values", "float32", ["batch", v.numChannels, v.imageSize, v.imageSize]);
      const embeds = clipImageEmbeds(b, p.tower, pixels);
      b.output(embeds, "image_embeds", "float32", ["batch", p.tower.projectionDim]);
      b.output(aestheticHead(b, embeds, p.mlp), "score", "float32", ["batch"]);
    },
  }),
  constants: (p) => ({ scorer: "clip-head", image: p.image, projection_dim: p.tower.projectionDim }),
};
