/**
 * What a reward directory's scorer is made of, per `constants.scorer` of its manifest: its sessions
 * (one per graph), its tokenizer and preprocessing, and how a score comes out of them. A reward kind
 * that needs another computation adds a `scorer` to the manifest's constants and one runtime (as
 * ImageReward's `blip-itm` did: Pillow's bicubic, a vision tower, a text encoder cross-attending to
 * it, an MLP and (x - mean) / std): registry in reward-scorer.ts.
 */
import type * as ort from "onnxruntime-node";
import type { RewardManifest } from "../../models/rewards/reward-manifest.js";

export interface RewardImage {
  /** height x width x 3, uint8 RGB */
  rgb: Uint8Array;
  height: number;
  width: number;
}

export interface RewardScore {
  /** what DiffSynth-Studio's metric class returns */
  score: number;
  /** the cosine of the unit-length embeddings (rewards with a text tower) */
  cosine?: number;
}

/** Receives named intermediates of image 0 (tests compare them with the reference's traces). */
export type RewardObserver = (name: string, value: Float32Array | BigInt64Array) => void;

export interface RewardRuntime {
  /** whether the score depends on a prompt */
  readonly needsPrompt: boolean;
  /** `prompt` is null exactly when needsPrompt is false */
  score(prompt: string | null, images: RewardImage[], observe?: RewardObserver): Promise<RewardScore[]>;
  /** computes and keeps what depends on the prompt alone (a no-op where nothing does) */
  encodePrompt(prompt: string): Promise<void>;
}

export interface RuntimeContext<M extends RewardManifest["constants"] = RewardManifest["constants"]> {
  dir: string;
  manifest: RewardManifest;
  constants: M;
  sessions: Record<string, ort.InferenceSession>;
  log: (line: string) => void;
}
