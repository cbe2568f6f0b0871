/**
 * The element type of every value of an ONNX model, by the ops' type rules, and the nodes that
 * onnxruntime's CUDA provider would leave to the CPU. Element types only (no shapes): enough to pick
 * kernels, and cheap on graphs with thousands of nodes. Subgraphs (Loop, If) are walked with the
 * enclosing graph's values in scope.
 */
import type { onnx as OnnxTypes } from "onnx-proto";
import { cudaKernelMissing, formalAt, kernelInputs, normaliseDomain, ONNX_DOMAIN } from "./cuda-kernels.js";

/** TensorProto.DataType codes to the names ONNX's docs use. */
const TYPE_NAMES: Record<number, string> = {
  1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
  10: "float16", 11: "double", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
  17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
};

export function elementTypeName(code: number | null | undefined): string | undefined {
  return code ? TYPE_NAMES[code] : undefined;
}

export interface InferredTypes {
  /** value name -> element type name ("float", "bfloat16", ...), subgraph values included */
  types: Map<string, string>;
  /** type rule violations and undefined values, one line each */
  errors: string[];
}

const num = (v: unknown): number => (typeof v === "number" ? v : (v as { toNumber(): number }).toNumber());
const attr = (n: OnnxTypes.INodeProto, name: string) => n.attribute?.find((a) => a.name === name);

/** The model's opset per domain ("" is "ai.onnx"). */
export function opsetsOf(model: OnnxTypes.IModelProto): Map<string, number> {
  return new Map((model.opsetImport ?? []).map((o) => [normaliseDomain(o.domain), num(o.version ?? 0)]));
}

const BOOL_OUT = new Set(["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"]);
const INT64_OUT = new Set(["Shape", "Size", "ArgMax", "ArgMin", "NonZero"]);
/** Ops whose outputs after the first are float statistics (stash_type, float by default). */
const STATS_OUT = new Set(["LayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization"]);

function tensorAttrType(n: OnnxTypes.INodeProto): string | undefined {
  const value = attr(n, "value");
  if (value?.t) return elementTypeName(value.t.dataType);
  if (attr(n, "value_float") || attr(n, "value_floats")) return "float";
  if (attr(n, "value_int") || attr(n, "value_ints")) return "int64";
  if (attr(n, "value_string") || attr(n, "value_strings")) return "string";
  return undefined;
}

/** Output types of one node from its input types (undefined where no rule applies). */
function outputTypes(n: OnnxTypes.INodeProto, ins: (string | undefined)[], subgraphOutputs: (string | undefined)[] | undefined): (string | undefined)[] {
  const op = n.opType ?? "";
  const count = (n.output ?? []).length;
  const all = (t: string | undefined) => Array.from({ length: count }, () => t);
  const domain = normaliseDomain(n.domain);
  if (domain === ONNX_DOMAIN) {
    if (op === "Cast") return all(elementTypeName(num(attr(n, "to")?.i ?? 0)));
    if (op === "CastLike") return all(ins[1]);
    if (INT64_OUT.has(op)) return all("int64");
    if (BOOL_OUT.has(op)) return all("bool");
    if (op === "Where") return all(ins[1]);
    if (op === "ConstantOfShape") return all(tensorAttrType(n) ?? "float");
    if (op === "Constant") return all(tensorAttrType(n));
    if (op === "RMSNormalization") return all(ins[1]);
    if (op === "SimplifiedLayerNormalization") return [ins[1], ...all("float").slice(1)];
    if (op === "Attention") return [ins[0], ins[0], ins[2], ins[0]].slice(0, count);
    if (op === "Loop") return Array.from({ length: count }, (_, i) => (i < ins.length - 2 ? ins[i + 2] : subgraphOutputs?.[i + 1]));
    if (op === "If") return Array.from({ length: count }, (_, i) => subgraphOutputs?.[i]);
  }
  if (domain === "com.microsoft" && op === "GroupQueryAttention") return [ins[0], ins[3] ?? ins[0], ins[4] ?? ins[0], ins[0]].slice(0, count);
  if (STATS_OUT.has(op)) {
    const stats = elementTypeName(num(attr(n, "stash_type")?.i ?? 1));
    return Array.from({ length: count }, (_, i) => (i === 0 || (op.startsWith("Skip") && i === 3) ? ins[0] : stats));
  }
  return all(ins[0]);
}

/** The declared element types of a graph's outputs (subgraphs declare theirs). */
const declaredOutputs = (g: OnnxTypes.IGraphProto | null | undefined) => g ? (g.output ?? []).map((o) => elementTypeName(o.type?.tensorType?.elemType)) : undefined;

interface Walk {
  types: Map<string, string>;
  errors: string[];
  /** called for every node with its resolved input and output types */
  visit?: (n: OnnxTypes.INodeProto, where: string, ins: (string | undefined)[], outs: (string | undefined)[]) => void;
}

function walkGraph(g: OnnxTypes.IGraphProto, scope: Map<string, string>, where: string, w: Walk): void {
  const local = new Map(scope);
  const define = (name: string, t: string | undefined) => {
    if (!name || t === undefined) return;
    local.set(name, t);
    w.types.set(where ? `${where}/${name}` : name, t);
  };
  for (const i of g.input ?? []) define(i.name ?? "", elementTypeName(i.type?.tensorType?.elemType));
  for (const t of g.initializer ?? []) define(t.name ?? "", elementTypeName(t.dataType));
  for (const n of g.node ?? []) {
    const label = `${where ? `${where}/` : ""}${n.name || n.output?.[0] || n.opType}`;
    const names = n.input ?? [];
    const ins = names.map((x) => (x === "" ? undefined : local.get(x)));
    names.forEach((x, i) => {
      if (x !== "" && ins[i] === undefined) w.errors.push(`${label} (${n.opType}): input ${x} has no known type (used before it is defined?)`);
    });
    // inputs bound to one type letter must agree (the schema's rule; the kernel table lists the letters)
    const formals = kernelInputs(n.domain ?? "", n.opType ?? "");
    if (formals) {
      const byLetter = new Map<string, Set<string>>();
      ins.forEach((t, i) => {
        const f = formalAt(formals, i);
        if (t === undefined || !f || f.type.startsWith("tensor(")) return;
        byLetter.set(f.type, (byLetter.get(f.type) ?? new Set()).add(t));
      });
      for (const [letter, ts] of byLetter) if (ts.size > 1) w.errors.push(`${label} (${n.opType}): inputs bound to ${letter} have types ${[...ts].join(", ")}`);
    }
    // subgraphs see this graph's values; Loop's body and If's branches declare their outputs
    const subgraphs = (n.attribute ?? []).filter((a) => a.g).map((a) => ({ name: a.name ?? "", g: a.g! }));
    for (const s of subgraphs) walkGraph(s.g, local, `${label}.${s.name}`, w);
    const body = n.opType === "Loop" ? attr(n, "body")?.g : n.opType === "If" ? attr(n, "then_branch")?.g : undefined;
    const outs = outputTypes(n, ins, declaredOutputs(body));
    if (n.opType === "If") {
      const other = declaredOutputs(attr(n, "else_branch")?.g);
      outs.forEach((t, i) => {
        if (t && other?.[i] && other[i] !== t) w.errors.push(`${label} (If): output ${i} is ${t} in then_branch, ${other[i]} in else_branch`);
      });
    }
    w.visit?.(n, label, ins, outs);
    (n.output ?? []).forEach((o, i) => define(o, outs[i]));
  }
  for (const o of g.output ?? []) {
    const declared = elementTypeName(o.type?.tensorType?.elemType);
    const got = local.get(o.name ?? "");
    if (declared && got !== declared) w.errors.push(`${where ? `${where}: ` : ""}output ${o.name} is ${got ?? "of unknown type"}, declared ${declared}`);
  }
}

/** The element type of every value of the model, by the ops' type rules, with consistency errors. */
export function inferElementTypes(model: OnnxTypes.IModelProto): InferredTypes {
  const w: Walk = { types: new Map(), errors: [] };
  if (model.graph) walkGraph(model.graph, new Map(), "", w);
  return { types: w.types, errors: w.errors };
}

/**
 * One line per node (subgraphs included) that onnxruntime's CUDA provider would hand to the CPU:
 * the node, its op and domain, the model's opset and resolved version, its input types, and why.
 */
export function nodesWithoutCudaKernel(model: OnnxTypes.IModelProto): string[] {
  const opsets = opsetsOf(model);
  const lines: string[] = [];
  const w: Walk = {
    types: new Map(),
    errors: [],
    visit: (n, label, ins, outs) => {
      const domain = normaliseDomain(n.domain);
      const opset = opsets.get(domain);
      const inputs = ins.map((t) => t ?? "-").join(", ");
      if (opset === undefined) {
        lines.push(`${label}: ${domain} ${n.opType}(${inputs}): the model imports no opset for ${domain}`);
        return;
      }
      const why = cudaKernelMissing({ domain, op: n.opType ?? "", opset, inputTypes: ins, outputTypes: outs });
      if (why) lines.push(`${label}: ${n.opType}(${inputs}): ${why}`);
    },
  };
  if (model.graph) walkGraph(model.graph, new Map(), "", w);
  return lines;
}
