/** numpy .npy (format 1.0) writer for float32 arrays, so noises load with numpy.load / torch.from_numpy. */
import { writeFileSync } from "node:fs";
import { roundToBfloat16 } from "../noise/bfloat16.js";

/** bfloat16: the noise rounded as torch >= 2.13 draws it, stored widened to float32 (exact). */
export type NoiseDtype = "float32" | "bfloat16";

export function npyBytes(data: Float32Array, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces and "\n" to 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!isLittleEndian()) throw new Error("writing .npy needs a little-endian host");
  return Buffer.concat([head, Buffer.from(header, "latin1"), body]);
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export function writeNpy(file: string, data: Float32Array, shape: readonly number[]): void {
  writeFileSync(file, npyBytes(data, shape));
}

/** A noise as a .npy file, in the dtype asked for: every noise the tool writes goes through here. */
export function writeNoiseNpy(file: string, noise: Float32Array, shape: readonly number[], dtype: NoiseDtype = "float32"): void {
  writeNpy(file, dtype === "bfloat16" ? roundToBfloat16(noise) : noise, shape);
}
