/**
 * Reads safetensors checkpoints (single files and `*.safetensors.index.json` shards) without loading
 * them: the format is an 8-byte little-endian header length, a JSON header, then raw little-endian
 * tensors. Tensors are located (file, byte offset, length) so graphs can point at them as ONNX
 * external data, and read one at a time where a value is needed.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import path from "node:path";
import { ModelInputError } from "./model-error.js";

export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorLocation {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** absolute path of the file holding it */
  file: string;
  /** byte offset of its data from the start of the file */
  offset: number;
  length: number;
}

/** Header of one .safetensors file, checked against the file's size. */
export function readSafetensorsHeader(file: string): Map<string, TensorLocation> {
  if (!existsSync(file)) throw new ModelInputError(`${file}: file not found`);
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new ModelInputError(`${file}: truncated safetensors file (${size} bytes, no header)`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > 100 * 2 ** 20) {
      throw new ModelInputError(`${file}: not a safetensors file or truncated (header of ${headerLen} bytes in a ${size}-byte file)`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw new ModelInputError(`${file}: the safetensors header is not valid JSON`);
    }
    const base = 8 + headerLen;
    const tensors = new Map<string, TensorLocation>();
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const entry = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      const dtype = entry.dtype as SafetensorsDtype;
      if (!(dtype in BYTES) || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
        throw new ModelInputError(`${file}: tensor '${name}' has an unsupported entry (dtype ${String(entry.dtype)})`);
      }
      const [begin, end] = entry.data_offsets;
      const count = entry.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * BYTES[dtype]) {
        throw new ModelInputError(`${file}: tensor '${name}' holds ${end - begin} bytes; ${dtype} ${JSON.stringify(entry.shape)} needs ${count * BYTES[dtype]}`);
      }
      if (base + end > size) {
        throw new ModelInputError(`${file}: truncated: tensor '${name}' ends at byte ${base + end} but the file has ${size}`);
      }
      tensors.set(name, { name, dtype, shape: entry.shape, file, offset: base + begin, length: end - begin });
    }
    return tensors;
  } finally {
    closeSync(fd);
  }
}

/** Where graph builders get weights from: a checkpoint, or the synthetic models' recorder of what they ask for. */
export interface WeightSource {
  get(name: string, shape?: number[]): TensorLocation;
}

/** Every tensor of a checkpoint folder: `<stem>.safetensors`, or the shards its index names. */
export class Checkpoint implements WeightSource {
  readonly tensors = new Map<string, TensorLocation>();
  readonly files: string[] = [];

  constructor(readonly dir: string, stem: string) {
    const single = path.join(dir, `${stem}.safetensors`);
    const index = `${single}.index.json`;
    if (existsSync(index)) {
      let weightMap: Record<string, string>;
      try {
        weightMap = (JSON.parse(readFileSync(index, "utf8")) as { weight_map: Record<string, string> }).weight_map;
        if (typeof weightMap !== "object" || weightMap === null) throw new Error();
      } catch {
        throw new ModelInputError(`${index}: expected JSON with a "weight_map" object`);
      }
      const shards = [...new Set(Object.values(weightMap))].sort();
      for (const shard of shards) this.add(path.join(dir, shard));
      for (const name of Object.keys(weightMap)) {
        if (!this.tensors.has(name)) throw new ModelInputError(`${index}: tensor '${name}' is listed but missing from ${weightMap[name]}`);
      }
    } else if (existsSync(single)) {
      this.add(single);
    } else if (existsSync(path.join(dir, "pytorch_model.bin"))) {
      throw new ModelInputError(
        `${path.join(dir, "pytorch_model.bin")}: PyTorch pickle checkpoints are not read (they can run code); convert once with ` +
          `python -c "import torch, safetensors.torch as s; s.save_file(torch.load('pytorch_model.bin'), 'model.safetensors')"`,
      );
    } else {
      throw new ModelInputError(`${single}: file not found (nor ${path.basename(index)})`);
    }
  }

  private add(file: string): void {
    this.files.push(file);
    for (const [name, t] of readSafetensorsHeader(file)) this.tensors.set(name, t);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** A tensor's location, checked for shape (when given) and floating dtype. */
  get(name: string, shape?: number[]): TensorLocation {
    const t = this.tensors.get(name);
    if (!t) throw new ModelInputError(`${this.dir}: tensor '${name}' is missing from the checkpoint`);
    if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
      throw new ModelInputError(`${t.file}: tensor '${name}' has shape [${t.shape.join(", ")}]; the config implies [${shape.join(", ")}]`);
    }
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
      throw new ModelInputError(`${t.file}: tensor '${name}' is ${t.dtype}; expected F32, F16 or BF16`);
    }
    return t;
  }

  /** A floating tensor's values as float32 (small tensors only: norms, biases, buffers). */
  read(name: string, shape?: number[]): Float32Array {
    return readTensorFloat32(this.get(name, shape));
  }
}

export function readTensorBytes(t: TensorLocation): Buffer {
  const fd = openSync(t.file, "r");
  try {
    const buf = Buffer.alloc(t.length);
    readSync(fd, buf, 0, t.length, t.offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

export function readTensorFloat32(t: TensorLocation): Float32Array {
  const bytes = readTensorBytes(t);
  const n = t.length / BYTES[t.dtype];
  const out = new Float32Array(n);
  if (t.dtype === "F32") {
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(4 * i);
  } else if (t.dtype === "BF16") {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = bytes.readUInt16LE(2 * i) << 16;
  } else if (t.dtype === "F16") {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
  } else {
    throw new ModelInputError(`${t.file}: tensor '${t.name}' is ${t.dtype}; expected a floating type`);
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export const SAFETENSORS_DTYPE_BYTES = BYTES;
