/**
 * ImageReward as a reward kind: the ImageMetrics/ImageReward folder read and cross-checked by
 * imagereward/imagereward-folder.ts, its original ImageReward.pt keys read as they are (nothing is
 * renamed), and one graph (BLIP's ViT, the BERT text encoder cross-attending to it, the MLP head,
 * (x - mean) / std). The text encoder reads the image, so there is no text-only graph to cache.
 */
import { Checkpoint } from "../safetensors.js";
import { buildImageRewardGraph } from "../imagereward/imagereward-graph.js";
import { readImageRewardFolder } from "../imagereward/imagereward-folder.js";
import { IMAGE_REWARD_PIXEL_MEAN, IMAGE_REWARD_PIXEL_STD, type ImageRewardConfig } from "../imagereward/imagereward-config.js";
import { requireFolder, requireLayout } from "./clip-rewards.js";
import type { ParsedReward, RewardKind, RewardSources } from "./reward-kind.js";


export interface ParsedImageReward extends ParsedReward {
  config: ImageRewardConfig;
}

export const imageReward: RewardKind<ParsedImageReward> = {
  name: "imagereward",
  folder: "DiffSynth-Studio/ImageMetrics/ImageReward",
  needsPrompt: true,
  needsProcessor: false,
  parse(src: RewardSources): ParsedImageReward {
    requireFolder(src.from, "--from");
    // another reward's folder is named by its keys before its config is read as a BlipConfig
    const checkpoint = new Checkpoint(src.from, "model");
    requireLayout(checkpoint, "blip", "imagereward");
    const { config } = readImageRewardFolder(src.from);
    return { weightsDir: src.from, weightsStem: "model", tokenizerDir: src.from, processorDir: null, config };
  },
  weights: (_p, checkpoint) => checkpoint,
  // the traced intermediates are outputs too: a run fetches only `score` unless a test observes them
  graphs: (p) => ({ image_reward: (b) => buildImageRewardGraph(b, p.config, { trace: true }) }),
  constants: (p) => ({
    scorer: "blip-itm",
    image: { kind: "pillow-bicubic", size: p.config.vision.imageSize, mean: [...IMAGE_REWARD_PIXEL_MEAN], std: [...IMAGE_REWARD_PIXEL_STD] },
    text_max_length: p.config.head.maxLength,
    score_mean: p.config.head.mean,
    score_std: p.config.head.std,
  }),
};
