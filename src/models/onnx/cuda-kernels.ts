/**
 * Does onnxruntime's CUDA provider have a kernel for a node? The same question onnxruntime asks when
 * it places nodes: resolve the node's op to its schema version (the largest since-version <= the
 * model's opset for the node's domain), find the CUDA registration whose version range holds it, and
 * check each type constraint the registration lists against the types bound to it. A node without
 * one runs on the CPU, with copies to and from the device around it.
 *
 * The table (cuda-kernels.json) is data transcribed from onnxruntime's docs/OperatorKernels.md for
 * the ops these graphs use; its `source` field says which revision and how it was checked.
 */
import table from "./cuda-kernels.json" with { type: "json" };

export const ONNX_DOMAIN = "ai.onnx";

/** A node as the kernel lookup sees it: element type names as ONNX spells them ("float", "bfloat16"). */
export interface KernelQuery {
  domain: string;
  op: string;
  /** the model's opset for the node's domain */
  opset: number;
  /** per input; undefined for an omitted (empty) optional input */
  inputTypes: (string | undefined)[];
  /** per output, where known; undefined for an omitted output */
  outputTypes?: (string | undefined)[];
}

export interface Formal {
  name: string;
  /** a type-constraint letter ("T") or a fixed type ("tensor(int64)") */
  type: string;
  variadic?: boolean;
}

interface Registration {
  versions: [number, number | null];
  types: Record<string, string[]>;
  inputs?: Formal[];
  outputs?: Formal[];
  /** registered tuples of types, where the kernel is not registered for the cross product */
  combinations?: { letters: string[]; types: string[][] };
}

interface OpKernels {
  note?: string;
  inputs: Formal[];
  outputs: Formal[];
  registrations: Registration[];
}

interface KernelTable {
  source: unknown;
  sinceVersions: Record<string, Record<string, number[]>>;
  kernels: Record<string, Record<string, OpKernels>>;
}

const TABLE = table as unknown as KernelTable;

/** Where the table was transcribed from (repository, path, commit) and how it was checked. */
export const CUDA_KERNEL_SOURCE = TABLE.source;

/** "" and "ai.onnx" are the same domain in a ModelProto. */
export function normaliseDomain(domain: string | null | undefined): string {
  return !domain ? ONNX_DOMAIN : domain;
}

/** The op's input parameters as the table lists them (newest form): which inputs share a type letter. */
export function kernelInputs(domain: string, op: string): readonly Formal[] | undefined {
  return TABLE.kernels[normaliseDomain(domain)]?.[op]?.inputs;
}

/** The ops the table covers, per domain. */
export function tabulatedOps(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(TABLE.kernels).map(([d, ops]) => [d, Object.keys(ops)]));
}

/**
 * The op's schema version in a model importing `opset` for its domain: the largest since-version
 * <= opset (onnxruntime's rule); com.microsoft ops are all version 1. Undefined where the op is not
 * in the table or did not exist yet at that opset.
 */
export function resolveSinceVersion(domain: string, op: string, opset: number): number | undefined {
  const d = normaliseDomain(domain);
  const since = TABLE.sinceVersions[d]?.[op] ?? (TABLE.kernels[d]?.[op] ? [1] : undefined);
  if (!since) return undefined;
  const fitting = since.filter((v) => v <= opset);
  return fitting.length ? Math.max(...fitting) : undefined;
}

const rangeText = (r: Registration) => (r.versions[1] === null ? `${r.versions[0]}+` : r.versions[0] === r.versions[1] ? `${r.versions[0]}` : `[${r.versions[0]}, ${r.versions[1]}]`);

/** The formal parameter at position i (a variadic last parameter covers the rest). */
export function formalAt(formals: readonly Formal[], i: number): Formal | undefined {
  if (i < formals.length) return formals[i];
  const last = formals[formals.length - 1];
  return last?.variadic ? last : undefined;
}

/** What a formal accepts under a registration: a constraint's list, a fixed type, or anything. */
function accepted(formal: Formal, reg: Registration): { label: string; types: string[] } | undefined {
  const fixed = /^tensor\((\w+)\)$/.exec(formal.type);
  if (fixed) return { label: formal.type, types: [fixed[1]] };
  const types = reg.types[formal.type];
  return types ? { label: formal.type, types } : undefined;
}

/**
 * Why the CUDA provider has no kernel for this node (one line: op, domain, resolved version, the
 * offending input or output and its type, what the kernel accepts), or undefined when it has one.
 * Unknown types (undefined) are not held against the node.
 */
export function cudaKernelMissing(node: KernelQuery): string | undefined {
  const domain = normaliseDomain(node.domain);
  const op = `${domain} ${node.op}`;
  const entry = TABLE.kernels[domain]?.[node.op];
  if (!entry) {
    const elsewhere = Object.keys(TABLE.kernels).filter((d) => d !== domain && TABLE.kernels[d][node.op]);
    const hint = elsewhere.length ? ` (the CUDA provider registers ${node.op} in ${elsewhere.join(", ")})` : "";
    return `${op}: not in the CUDA kernel table${hint}`;
  }
  const version = resolveSinceVersion(domain, node.op, node.opset);
  if (version === undefined) return `${op}: no schema at opset ${node.opset}`;
  const at = `${op}-${version} (opset ${node.opset})`;
  if (!entry.registrations.length) return `${at}: no CUDA kernel registered${entry.note ? ` (${entry.note})` : ""}`;
  const reg = entry.registrations.find((r) => r.versions[0] <= version && (r.versions[1] === null || version <= r.versions[1]));
  if (!reg) return `${at}: no CUDA kernel for this version (registered: ${entry.registrations.map(rangeText).join(", ")})`;

  const bound = new Map<string, string>();
  const sides: [string, Formal[], (string | undefined)[]][] = [
    ["input", reg.inputs ?? entry.inputs, node.inputTypes],
    ["output", reg.outputs ?? entry.outputs, node.outputTypes ?? []],
  ];
  for (const [side, formals, types] of sides) {
    for (let i = 0; i < types.length; i++) {
      const t = types[i];
      if (t === undefined) continue;
      const formal = formalAt(formals, i);
      if (!formal) return `${at}: ${side} ${i} is not a parameter of the CUDA kernel ${rangeText(reg)}`;
      const ok = accepted(formal, reg);
      if (ok && !ok.types.includes(t)) return `${at}: ${side} ${i} (${formal.name}) is ${t}; the CUDA kernel ${rangeText(reg)} accepts ${ok.label} = ${ok.types.join(", ")}`;
      if (!bound.has(formal.type)) bound.set(formal.type, t);
    }
  }
  const combos = reg.combinations;
  if (combos) {
    const fits = combos.types.some((tuple) => combos.letters.every((letter, k) => !bound.has(letter) || bound.get(letter) === tuple[k]));
    if (!fits) {
      const have = combos.letters.filter((l) => bound.has(l)).map((l) => `${l} = ${bound.get(l)}`).join(", ");
      const registered = combos.types.map((tuple) => `(${tuple.join(", ")})`).join(" ");
      return `${at}: types ${have} are not a registered CUDA combination of (${combos.letters.join(", ")}): ${registered}`;
    }
  }
  return undefined;
}
