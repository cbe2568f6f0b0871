/**
 * What one reward kind (PickScore, HPSv2, CLIP score, Aesthetic, ImageReward) contributes to
 * `sweep models import --reward KIND`: reading and cross-checking the folder a user has, the view of
 * its checkpoint in the key names the graphs ask for, the graphs, and the constants its scorer needs.
 * The import itself (temporary folder, linked weights, precisions, digests, manifest) is shared:
 * import-reward.ts. A new kind is one object of this shape and one line of registry.ts.
 */
import type { GraphBuilder } from "../onnx/graph-builder.js";
import type { Checkpoint, WeightSource } from "../safetensors.js";
import type { RewardConstants, RewardName } from "./reward-manifest.js";

export interface RewardSources {
  /** the reward's folder (DiffSynth-Studio/ImageMetrics/<folder>/, or PickScore_v1/) */
  from: string;
  /** the processor folder, for kinds whose weights come without one (PickScore) */
  processor?: string;
}

export interface ParsedReward {
  /** the checkpoint's folder and file stem (model.safetensors, or its shards) */
  weightsDir: string;
  weightsStem: string;
  /** folders whose files are copied as they are into the model directory's tokenizer/ and processor/ */
  tokenizerDir: string | null;
  processorDir: string | null;
}

export interface RewardKind<P extends ParsedReward = ParsedReward> {
  name: RewardName;
  /** the folder a user has, for messages: "DiffSynth-Studio/ImageMetrics/HPSv2" */
  folder: string;
  /** whether it scores (prompt, image) or the image alone */
  needsPrompt: boolean;
  /** whether --processor is required besides --from */
  needsProcessor: boolean;
  /** Reads every config and checks it against the checkpoint's tensors; ModelInputError on anything wrong. */
  parse(src: RewardSources): P;
  /** The checkpoint as the graphs name its tensors (renamed, fused tensors split: the key conversion). */
  weights(parsed: P, checkpoint: Checkpoint): WeightSource;
  /** Graph name -> builder, for every graph the scorer runs. */
  graphs(parsed: P): Record<string, (b: GraphBuilder) => void>;
  /** What the scorer needs besides the graphs: preprocessing, text length, score formula. */
  constants(parsed: P, checkpoint: Checkpoint): RewardConstants;
}
