import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Golden data made with the real reference libraries (torch, PyWavelets, DiffSynth-Studio). */
export const referenceDir = process.env.SWEEP_REFERENCE_DIR ?? path.resolve(repoRoot, "../shared/reference");

export function loadReference<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.join(referenceDir, name), "utf8")) as T;
}

/** First 16 hex digits of sha256 over little-endian float32 bytes, as the reference files give. */
export function digest16(values: Float32Array): string {
  return createHash("sha256").update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest("hex").slice(0, 16);
}
