/**
 * Non-finite weights (NaN, infinity) in a checkpoint: a model built from them imports and runs,
 * and every image comes out black with the same score. Found at import and by `--verify`, by the
 * bit patterns (an all-ones exponent), a chunk of a tensor at a time.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { ModelInputError } from "./model-error.js";
import { readSafetensorsHeader, type SafetensorsDtype } from "./safetensors.js";

const CHUNK_BYTES = 16 << 20;

/** Exponent mask of each float type, by bytes per value; an all-ones exponent is NaN or infinity. */
const EXPONENT: Partial<Record<SafetensorsDtype, { bytes: 2 | 4; mask: number }>> = {
  F32: { bytes: 4, mask: 0x7f800000 },
  F16: { bytes: 2, mask: 0x7c00 },
  BF16: { bytes: 2, mask: 0x7f80 },
};

/** The tensors of a .safetensors file that hold a NaN or an infinity ("name (dtype)"). */
export function nonFiniteTensors(file: string): string[] {
  const found: string[] = [];
  const buf = Buffer.alloc(CHUNK_BYTES);
  const fd = openSync(file, "r");
  try {
    for (const t of readSafetensorsHeader(file).values()) {
      const kind = EXPONENT[t.dtype];
      if (!kind) continue;
      for (let at = 0; at < t.length; at += CHUNK_BYTES) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK_BYTES, t.length - at), t.offset + at);
        if (hasNonFinite(buf, n, kind.bytes, kind.mask)) {
          found.push(`${t.name} (${t.dtype})`);
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

function hasNonFinite(buf: Buffer, n: number, bytes: 2 | 4, mask: number): boolean {
  if (bytes === 4) {
    for (let i = 0; i + 4 <= n; i += 4) if ((buf.readUInt32LE(i) & mask) === mask) return true;
  } else {
    for (let i = 0; i + 2 <= n; i += 2) if ((buf.readUInt16LE(i) & mask) === mask) return true;
  }
  return false;
}

/** Refuses a .safetensors file with non-finite weights, naming the first tensors. */
export function requireFiniteWeights(file: string): void {
  if (!file.endsWith(".safetensors")) return;
  const bad = nonFiniteTensors(file);
  if (bad.length > 0) {
    const more = bad.length > 3 ? ` and ${bad.length - 3} more` : "";
    throw new ModelInputError(`${file}: non-finite weights (NaN or infinity) in ${bad.slice(0, 3).join(", ")}${more}: a broken checkpoint, every image would come out black`);
  }
}
