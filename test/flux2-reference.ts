/** The FLUX.2 + PickScore golden data (../shared/reference/flux2) and helpers to run graphs on it. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, expect } from "vitest";
import { GraphBuilder, type ComputeType } from "../src/models/onnx/graph-builder.js";
import { Checkpoint, readSafetensorsHeader, readTensorBytes } from "../src/models/safetensors.js";
import { loadReference, referenceDir } from "./reference.js";

export const flux2Dir = path.join(referenceDir, "flux2");

export interface GoldenCase {
  case: number;
  prompt: string;
  height: number;
  width: number;
  seed: number;
  score_cosine: number;
  score_logit: number;
  image_sha256_16: string;
  image_mean: number;
  timesteps: number[];
  chat_text?: string;
}

export const golden = loadReference<{ cases: GoldenCase[] }>("flux2/golden.json");

/** The three traced cases: (case 0, seed 0) 128x128, (case 1, seed 3) 128x192, (case 2, seed 4) 1024x1024. */
export const TRACES = ["trace_case0_seed0", "trace_case1_seed3", "trace_case2_seed4"] as const;

export type TraceTensor = { dims: number[]; data: Float32Array | BigInt64Array | Uint8Array };

export function loadTrace(name: (typeof TRACES)[number]): Map<string, TraceTensor> {
  const out = new Map<string, TraceTensor>();
  for (const [key, t] of readSafetensorsHeader(path.join(flux2Dir, `${name}.safetensors`))) {
    const bytes = readTensorBytes(t);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = t.dtype === "F32" ? new Float32Array(buf) : t.dtype === "I64" ? new BigInt64Array(buf) : new Uint8Array(buf);
    out.set(key, { dims: t.shape, data });
  }
  return out;
}

export function float32Of(trace: Map<string, TraceTensor>, key: string): Float32Array {
  const t = trace.get(key);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`trace has no float32 tensor ${key}`);
  return t.data;
}

/** max |a - e| / max |e|: the relative error the acceptance criteria bound (1e-5). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** A temporary directory removed after the test file. */
export function scratchDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sweep-graph-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A GraphBuilder over one golden checkpoint, copied into `dir` (onnxruntime only reads external
 * data inside the model's folder), e.g. builderFor(dir, "PickScore-tiny", "model", "clip_text").
 */
export function builderFor(dir: string, component: string, stem: string, name: string, compute: ComputeType = "float32"): GraphBuilder {
  const target = path.join(dir, component.replaceAll("/", "_"));
  mkdirSync(target, { recursive: true });
  copyFileSync(path.join(flux2Dir, component, `${stem}.safetensors`), path.join(target, `${stem}.safetensors`));
  const weights = new Checkpoint(target, stem);
  return new GraphBuilder({ name, compute, weights, location: (f) => path.relative(dir, f) });
}

/** Saves a graph in `dir` and opens a CPU session on it. */
export async function session(b: GraphBuilder, dir: string, file: string): Promise<ort.InferenceSession> {
  const p = path.join(dir, file);
  writeFileSync(p, b.encode());
  return ort.InferenceSession.create(p, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

export interface RawTensor {
  name: string;
  dtype: "F32" | "BF16" | "I64";
  shape: number[];
  data: Uint8Array;
}

/** Writes a safetensors file (8-byte header length, JSON header padded to 8 bytes, raw data). */
export function writeSafetensors(file: string, tensors: RawTensor[]): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data))]));
}

/** Every tensor of a golden checkpoint file, raw. */
export function readAllTensors(file: string): RawTensor[] {
  return [...readSafetensorsHeader(file).values()].map((t) => ({ name: t.name, dtype: t.dtype as RawTensor["dtype"], shape: t.shape, data: new Uint8Array(readTensorBytes(t)) }));
}
