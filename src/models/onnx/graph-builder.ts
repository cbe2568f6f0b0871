/**
 * Builds ONNX graphs node by node (as onnxruntime-genai's model builder does) with onnx-proto's
 * generated message types. Weights stay in the checkpoint's safetensors files: an initializer points
 * at its bytes as ONNX external data (location, offset, length), so a graph is small and a model is
 * never held in memory to write it. A weight stored in another type than the compute type gets a
 * Cast node; onnxruntime folds it once when the session is created.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";

// onnx-proto is CommonJS: its namespace comes through the default export under Node's ESM loader.
const { onnx } = onnxProto;
import type { SafetensorsDtype, TensorLocation, WeightSource } from "../safetensors.js";

export type ElemType = "float32" | "float16" | "bfloat16" | "int64" | "int32" | "uint8" | "bool";
export type ComputeType = "float32" | "float16" | "bfloat16";

/** 22: the first opset with a bfloat16 Conv (the VAE, CLIP's patch embedding). */
export const OPSET = 22;
export const MS_DOMAIN = "com.microsoft";

const TYPE_CODE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

const BYTES: Record<ElemType, number> = { float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

const FROM_SAFETENSORS: Partial<Record<SafetensorsDtype, ElemType>> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/** An attribute value: integers become INT(S), `float(x)`/`floats(xs)` FLOAT(S), strings STRING. */
export type Attr = number | number[] | string | FloatAttr | FloatsAttr;
interface FloatAttr {
  float: number;
}
interface FloatsAttr {
  floats: number[];
}
export const float = (x: number): FloatAttr => ({ float: x });
/** A graph input or output as the model manifest records it. */
export interface TensorSignature {
  name: string;
  dtype: ElemType;
  shape: (number | string)[];
}

export const floats = (xs: number[]): FloatsAttr => ({ floats: xs });

export interface GraphBuilderOptions {
  name: string;
  compute: ComputeType;
  weights: WeightSource;
  /** where a checkpoint file is, relative to the model directory the graph is saved in */
  location: (file: string) => string;
}

export class GraphBuilder {
  readonly compute: ComputeType;
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly params = new Map<string, string>();
  private readonly domains = new Set<string>();
  private readonly signature: { inputs: TensorSignature[]; outputs: TensorSignature[] } = { inputs: [], outputs: [] };
  private counter = 0;
  private paramBytes = 0;

  constructor(private readonly opts: GraphBuilderOptions) {
    this.compute = opts.compute;
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    this.signature.inputs.push({ name, dtype: type, shape: dims });
    return name;
  }

  output(value: string, name: string, type: ElemType, dims: (number | string)[]): void {
    this.nodes.push({ opType: "Identity", input: [value], output: [name], name: `${name}_out` });
    this.outputs.push(valueInfo(name, type, dims));
    this.signature.outputs.push({ name, dtype: type, shape: dims });
  }

  /**
   * Bytes of the weights as a session holds them: every checkpoint tensor in each type the graph
   * reads it in (onnxruntime folds a weight's Cast once, keeping only the result).
   */
  weightBytes(): number {
    return this.paramBytes;
  }

  /** The graph's inputs and outputs (names, dtypes, symbolic shapes). */
  describe(): { inputs: TensorSignature[]; outputs: TensorSignature[] } {
    return structuredClone(this.signature);
  }

  /** A checkpoint tensor in the compute type (shape checked when given). */
  param(tensor: string, shape?: number[]): string {
    return this.paramAs(tensor, this.compute, shape);
  }

  /** A checkpoint tensor in float32 whatever the compute type (norm statistics, scales). */
  paramFloat32(tensor: string, shape?: number[]): string {
    return this.paramAs(tensor, "float32", shape);
  }

  private paramAs(tensor: string, type: ElemType, shape?: number[]): string {
    const key = `${type}|${tensor}`;
    const known = this.params.get(key);
    if (known) return known;
    const loc = this.opts.weights.get(tensor, shape);
    const raw = this.rawWeight(loc);
    const stored = FROM_SAFETENSORS[loc.dtype] as ElemType;
    const value = stored === type ? raw : this.op("Cast", [raw], { to: TYPE_CODE[type] });
    this.params.set(key, value);
    this.paramBytes += (loc.length / BYTES[stored]) * BYTES[type];
    return value;
  }

  private rawWeight(loc: TensorLocation): string {
    const key = `raw|${loc.name}`;
    const known = this.params.get(key);
    if (known) return known;
    this.initializers.push({
      name: loc.name,
      dims: loc.shape,
      dataType: TYPE_CODE[FROM_SAFETENSORS[loc.dtype] as ElemType],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: this.opts.location(loc.file) },
        { key: "offset", value: String(loc.offset) },
        { key: "length", value: String(loc.length) },
      ],
    });
    this.params.set(key, loc.name);
    return loc.name;
  }

  /** An inline constant (small: shapes, scales, precomputed tables), stored as float32 or int64. */
  constant(values: ArrayLike<number>, dims: number[], type: "float32" | "int64" = "float32"): string {
    const name = this.fresh("const");
    const tensor: OnnxTypes.ITensorProto = { name, dims, dataType: TYPE_CODE[type] };
    if (type === "float32") tensor.rawData = new Uint8Array(Float32Array.from(values).buffer);
    else tensor.rawData = new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
    this.initializers.push(tensor);
    return name;
  }

  /** A float32 constant converted to the compute type. */
  constantCompute(values: ArrayLike<number>, dims: number[]): string {
    const c = this.constant(values, dims, "float32");
    return this.compute === "float32" ? c : this.op("Cast", [c], { to: TYPE_CODE[this.compute] });
  }

  int64s(values: number[]): string {
    return this.constant(values, [values.length], "int64");
  }

  cast(value: string, type: ElemType): string {
    return this.op("Cast", [value], { to: TYPE_CODE[type] });
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, domain = ""): string {
    return this.ops(opType, inputs, 1, attrs, domain)[0];
  }

  ops(opType: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}, domain = ""): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    if (domain) this.domains.add(domain);
    this.nodes.push({
      opType,
      domain,
      input: inputs,
      output: names,
      name: names[0],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  encode(): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: 10,
      producerName: "sweep",
      opsetImport: [{ domain: "", version: OPSET }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: this.opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

export function typeCode(type: ElemType): number {
  return TYPE_CODE[type];
}

function valueInfo(name: string, type: ElemType, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: TYPE_CODE[type],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: Attr): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v}: wrap non-integer values in float()`);
    return { name, type: T.INT, i: v };
  }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}
