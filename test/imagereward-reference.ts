/** The ImageReward part of the rewards golden data (../shared/reference/rewards). */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { GraphBuilder, type ComputeType } from "../src/models/onnx/graph-builder.js";
import { Checkpoint, readSafetensorsHeader, readTensorBytes } from "../src/models/safetensors.js";
import { loadReference, referenceDir } from "./reference.js";

export const rewardsDir = path.join(referenceDir, "rewards");
export const imageRewardDir = path.join(rewardsDir, "ImageMetrics-tiny", "ImageReward");

export interface ImageRewardCase {
  metric: "image_reward";
  case: number;
  image: string;
  height: number;
  width: number;
  prompt: string;
  score: number;
  raw_reward: number;
  score_mean: number;
  score_std: number;
  n_real_tokens: number;
  n_tokens_untruncated: number;
  truncated: boolean;
  n_unk: number;
  pixel_values: string;
  trace: string;
}

const golden = loadReference<{ cases: { metric: string }[] }>("rewards/golden.json");
export const imageRewardCases = golden.cases.filter((c) => c.metric === "image_reward") as ImageRewardCase[];

export type Tensor = { shape: number[]; data: Float32Array | BigInt64Array | Uint8Array };

/** Every tensor of a golden safetensors file, typed by its dtype. */
export function loadTensors(file: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, t] of readSafetensorsHeader(path.join(rewardsDir, file))) {
    const bytes = readTensorBytes(t);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = t.dtype === "F32" ? new Float32Array(buf) : t.dtype === "I64" ? new BigInt64Array(buf) : new Uint8Array(buf);
    out.set(key, { shape: t.shape, data });
  }
  return out;
}

/** A GraphBuilder over a copy of the golden ImageReward weights in `dir` (onnxruntime reads external data inside the model's folder). */
export function imageRewardBuilder(dir: string, name: string, compute: ComputeType = "float32"): GraphBuilder {
  const target = path.join(dir, "ImageReward");
  mkdirSync(target, { recursive: true });
  copyFileSync(path.join(imageRewardDir, "model.safetensors"), path.join(target, "model.safetensors"));
  return new GraphBuilder({ name, compute, weights: new Checkpoint(target, "model"), location: (f) => path.relative(dir, f) });
}
