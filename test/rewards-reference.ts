/** The rewards golden data (../shared/reference/rewards): cases, images written as PNG, traces. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { encode as encodePng } from "fast-png";
import { readSafetensorsHeader, readTensorBytes } from "../src/models/safetensors.js";
import { loadReference, referenceDir } from "./reference.js";

export const rewardsDir = path.join(referenceDir, "rewards");
export const imageMetricsDir = path.join(rewardsDir, "ImageMetrics-tiny");

export interface RewardCase {
  metric: "hpsv2" | "clip" | "aesthetic" | "image_reward";
  case: number;
  image: string;
  height: number;
  width: number;
  prompt: string | null;
  score: number;
  score_cosine?: number;
  pixel_values: string;
  trace: string;
}

export const rewardsGolden = loadReference<{ cases: RewardCase[]; metrics: Record<string, { folder: string }> }>("rewards/golden.json");

export type Tensor = Float32Array | BigInt64Array | Uint8Array;

export function readTensors(file: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, t] of readSafetensorsHeader(file)) {
    const bytes = readTensorBytes(t);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    out.set(key, t.dtype === "F32" ? new Float32Array(buf) : t.dtype === "I64" ? new BigInt64Array(buf) : new Uint8Array(buf));
  }
  return out;
}

export const goldenImages = readTensors(path.join(rewardsDir, "images.safetensors"));

/** Writes an HWC uint8 RGB image as a PNG file. */
export function writeRgbPng(file: string, rgb: Uint8Array, height: number, width: number): string {
  writeFileSync(file, encodePng({ width, height, data: rgb, channels: 3, depth: 8 }));
  return file;
}
