/**
 * Reads a sweep YAML: parse (with positions), apply --set overrides, validate against the schema
 * and the cross-field rules, resolve files relative to the config. Any mistake throws ConfigError
 * naming file:line:col, the field and what was expected; nothing is written.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LineCounter, parse as parseYaml, parseDocument, isMap, isScalar, isSeq, type Document } from "yaml";
import type { z } from "zod";
import { resolveStrategyOptions } from "../strategies/registry.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { closest, knownFields } from "./known-fields.js";
import { makeLocator, type FieldPath } from "./locate.js";
import { sweepSchema, type SweepSpec } from "./schema.js";
import type { EvaluatorSpec, Flux2PickScoreSpec, StrategySpec, Sweep } from "../domain/sweep.js";
import type { NoiseShape } from "../domain/candidate.js";

interface Override { path: FieldPath; expr: string; value: unknown }

function parseOverride(expr: string, problems: ConfigProblem[]): Override | undefined {
  const eq = expr.indexOf("=");
  if (eq <= 0) {
    problems.push({ where: `--set ${expr}`, field: "", message: "expected path=value, e.g. budgets=[10,20] or strategies.1.popsize=20" });
    return undefined;
  }
  const pathText = expr.slice(0, eq).trim();
  const valueText = expr.slice(eq + 1);
  try {
    const value = valueText.trim() === "" ? "" : parseYaml(valueText);
    const fieldPath = pathText.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    return { path: fieldPath, expr, value };
  } catch (e) {
    problems.push({ where: `--set ${expr}`, field: pathText, message: `value is not valid YAML: ${(e as Error).message}` });
    return undefined;
  }
}

/** "(got ...)": a number as written in the file where it was (9007199254740993 reads as ...992). */
function describeInput(input: unknown, written?: string): string {
  if (input === undefined) return "";
  const text = typeof input === "number" && written !== undefined ? written : JSON.stringify(input);
  return text === undefined ? "" : ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

function issueMessage(issue: z.core.$ZodIssue, written?: string): string {
  const input = (issue as { input?: unknown }).input;
  if (issue.code === "invalid_type" && input === undefined) return `missing required field (expected ${issue.expected})`;
  if (issue.code === "invalid_type" && issue.expected === "int") return `expected an integer${describeInput(input, written)}`;
  if (issue.code === "invalid_union" || issue.code === "unrecognized_keys") return issue.message;
  return `${issue.message}${describeInput(input, written)}`;
}

/** Why --set cannot write this path (an index past the end of a list; the next index adds an entry), or undefined. */
function indexOutOfRange(doc: Document, p: FieldPath): string | undefined {
  for (let i = 0; i < p.length; i++) {
    const index = p[i];
    if (typeof index !== "number") continue;
    const list = i === 0 ? doc.contents : doc.getIn(p.slice(0, i) as unknown[], true);
    if (!isSeq(list)) continue;
    const n = list.items.length;
    if (index < n || (index === n && i === p.length - 1)) continue;
    const name = fieldName(p.slice(0, i));
    const has = n === 0 ? "is empty" : `has ${n} entr${n === 1 ? "y" : "ies"} (${name}.0${n > 1 ? ` to ${name}.${n - 1}` : ""})`;
    return `${name}.${index} does not exist: ${name} ${has}`;
  }
  return undefined;
}

/** zod's own safe-integer bound, when the field's explicit bound (with its reason) says the same. */
function redundant(issue: z.core.$ZodIssue, all: readonly z.core.$ZodIssue[]): boolean {
  const implicit = (issue.code === "too_big" || issue.code === "too_small") && issue.origin === "int";
  const key = fieldName(issue.path);
  return implicit && all.some((o) => o !== issue && fieldName(o.path) === key);
}

/** The text of a scalar as the file has it (undefined for values from --set). */
function writtenText(doc: Document, text: string, p: FieldPath): string | undefined {
  const node = doc.getIn(p as unknown[], true);
  const range = isScalar(node) ? node.range : undefined;
  return range ? text.slice(range[0], range[1]).trim() : undefined;
}

function fieldName(p: FieldPath): string {
  return p.map(String).join(".");
}

export interface LoadOptions {
  overrides?: string[];
}

/** The sweep file as a validated `Sweep`: read, `--set` applied, checked against the schema, resolved. */
export async function loadSweep(file: string, options: LoadOptions = {}): Promise<Sweep> {
  const { text, doc, lines } = readSweepDocument(file);
  const overrides = applyOverrides(doc, options.overrides ?? []);
  const locate = makeLocator(file, doc, lines, overrides);
  const spec = validate(doc, text, locate);
  return resolveSweep(spec, file, options.overrides ?? [], locate);
}

/** The file parsed as YAML with positions; a syntax error or a file that is not a mapping is refused. */
function readSweepDocument(file: string): { text: string; doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([{ where: file, field: "", message: `cannot read the sweep file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return { where: pos ? `${file}:${pos.line}:${pos.col}` : file, field: "", message: `YAML syntax error: ${e.message.split("\n")[0]}` };
    }));
  }
  if (!isMap(doc.contents)) {
    throw new ConfigError([{ where: file, field: "", message: "expected a mapping of sweep fields (name, prompts, seeds, budgets, strategies, evaluator)" }]);
  }
  return { text, doc, lines };
}

/** Writes each `--set path=value` into the document; every bad one is reported at once. */
function applyOverrides(doc: Document, exprs: string[]): Override[] {
  const problems: ConfigProblem[] = [];
  const overrides = exprs.map((o) => parseOverride(o, problems)).filter((o): o is Override => !!o);
  for (const o of overrides) {
    const range = indexOutOfRange(doc, o.path);
    if (range) {
      problems.push({ where: `--set ${o.expr}`, field: "", message: range });
      continue;
    }
    try {
      doc.setIn(o.path as unknown[], doc.createNode(o.value));
    } catch (e) {
      problems.push({ where: `--set ${o.expr}`, field: fieldName(o.path), message: `cannot set this path: ${(e as Error).message}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return overrides;
}

/** The document against the schema; every problem at its file:line:col, in file order. */
function validate(doc: Document, text: string, locate: ReturnType<typeof makeLocator>): SweepSpec {
  const data = doc.toJS();
  const parsed = sweepSchema.safeParse(data, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems: ConfigProblem[] = [];
  for (const issue of parsed.error.issues) {
    if (redundant(issue, parsed.error.issues)) continue;
    if (issue.code === "unrecognized_keys") {
      const known = knownFields(sweepSchema, issue.path, data);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        const hint = guess ? `; did you mean '${guess}'?` : known.length > 0 ? ` (expected one of: ${known.join(", ")})` : "";
        problems.push({ where: locate(issue.path, key), field: fieldName([...issue.path, key]), message: `unknown field${hint}` });
      }
    } else {
      problems.push({ where: locate(issue.path), field: fieldName(issue.path), message: issueMessage(issue, writtenText(doc, text, issue.path)) });
    }
  }
  throw new ConfigError(problems.sort(byPosition));
}

/** Files resolved, cross-field rules checked, defaults applied, and the fingerprint of what determines the scores. */
async function resolveSweep(spec: SweepSpec, file: string, overrides: string[], locate: ReturnType<typeof makeLocator>): Promise<Sweep> {
  const problems: ConfigProblem[] = [];
  const dir = path.dirname(path.resolve(file));
  const report = (p: FieldPath, message: string) => problems.push({ where: locate(p), field: fieldName(p), message });
  const prompts = resolvePrompts(spec, dir, report);
  checkUnique(spec.seeds, ["seeds"], "seed", report);
  checkUnique(spec.budgets, ["budgets"], "budget", report);
  // The evaluator first: the strategies' options are checked against its noise shape, and a wrong
  // image size would otherwise show as a strategy's error before its real cause.
  const evaluator = await resolveEvaluator(spec, dir, report);
  const strategies = evaluator ? resolveStrategies(spec, evaluator.shape, report) : [];
  if (problems.length > 0 || !prompts || !evaluator) throw new ConfigError(problems);

  const budgets = [...spec.budgets].sort((a, b) => a - b);
  const determining = { prompts, seeds: spec.seeds, budgets, strategies, evaluator: fingerprintedEvaluator(evaluator) };
  return {
    name: spec.name ?? defaultName(file),
    description: spec.description,
    prompts,
    seeds: spec.seeds,
    budgets,
    strategies,
    evaluator,
    execution: { timeout_s: spec.evaluator.timeout_s, retries: spec.evaluator.retries },
    threads: spec.threads,
    workers: spec.workers,
    output: spec.output,
    fingerprint: createHash("sha256").update(canonicalJson(determining)).digest("hex"),
    source: { file: path.resolve(file), overrides },
  };
}

type Report = (p: FieldPath, message: string) => void;

function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  const pos = (p: ConfigProblem) => /:(\d+):(\d+)$/.exec(p.where)?.slice(1).map(Number) ?? [Infinity, Infinity];
  const [la, ca] = pos(a);
  const [lb, cb] = pos(b);
  return la - lb || ca - cb;
}

function resolvePrompts(spec: SweepSpec, dir: string, report: Report): string[] | undefined {
  if (spec.prompts && spec.prompts_file) {
    report(["prompts_file"], "give prompts or prompts_file, not both");
    return undefined;
  }
  if (spec.prompts) return spec.prompts;
  if (!spec.prompts_file) {
    report([], "missing prompts: give prompts (a list) or prompts_file (one prompt per line)");
    return undefined;
  }
  const file = path.resolve(dir, spec.prompts_file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    report(["prompts_file"], `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
  // Kept exactly as written: the reference does not trim, and the text encoders' tokens depend on it.
  const prompts = text.split(/\r?\n/).filter((l) => /\S/.test(l));
  if (prompts.length === 0) {
    report(["prompts_file"], `${file} has no prompts (expected one prompt per line)`);
    return undefined;
  }
  return prompts;
}

function checkUnique(values: number[], p: FieldPath, what: string, report: Report): void {
  const seen = new Map<number, number>();
  values.forEach((v, i) => {
    if (seen.has(v)) report([...p, i], `duplicate ${what} ${v} (also at index ${seen.get(v)})`);
    else seen.set(v, i);
  });
}

/** Labels are unique; each entry's options are its strategy's to resolve against the noise shape. */
function resolveStrategies(spec: SweepSpec, shape: NoiseShape, report: Report): StrategySpec[] {
  const labels = new Map<string, number>();
  return spec.strategies.map((entry, i) => {
    const { name, label: given, ...options } = entry;
    const label = given ?? name;
    if (labels.has(label)) {
      report(["strategies", i, ...(given ? ["label"] : [])],
        `duplicate label '${label}' (also strategies.${labels.get(label)}); give each entry a distinct label`);
    } else {
      labels.set(label, i);
    }
    const resolved = resolveStrategyOptions(name, options, shape, (option, message) => report(["strategies", i, option], message));
    return { name, label, ...resolved };
  });
}

async function resolveEvaluator(spec: SweepSpec, dir: string, report: Report): Promise<EvaluatorSpec | undefined> {
  const e = spec.evaluator;
  if (e.kind === "flux2-pickscore") return resolveFlux2(e, report);
  const shape = e.shape as NoiseShape;
  if (e.kind === "synthetic") {
    return { kind: "synthetic", shape, latency_ms: e.latency_ms, jitter_ms: e.jitter_ms };
  }
  if (e.kind === "noop") return { kind: "noop", shape };
  const file = path.resolve(dir, e.path);
  const modulePath = path.relative(dir, file);
  if (path.isAbsolute(e.path) || modulePath.startsWith("..") || path.isAbsolute(modulePath)) {
    report(["evaluator", "path"], `module path must be relative and inside the sweep file's folder (workers resolve it inside their --model-root; local workers use ${dir})`);
    return undefined;
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    report(["evaluator", "path"], `module file not found: ${file}`);
    return undefined;
  }
  // Symbolic links are followed before anything is imported: a link out of the folder is refused
  // here, as workers refuse it (they resolve real paths inside their model root).
  const realDir = realpathSync(dir);
  const real = realpathSync(file);
  if (escapes(realDir, real)) {
    report(["evaluator", "path"], `module path ${e.path} is a symbolic link to ${real}, outside the sweep file's folder ${realDir} (workers refuse modules outside their --model-root); copy the module into the folder`);
    return undefined;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(real).href);
  } catch (err) {
    report(["evaluator", "path"], `cannot load module ${file}: ${(err as Error).message.split("\n")[0]}`);
    return undefined;
  }
  if (typeof mod.default !== "function") {
    report(["evaluator", "path"], `module ${file} has no default export function (expected: export default function score({ noise, shape, prompt, promptIndex }) { ... })`);
    return undefined;
  }
  const digest = createHash("sha256").update(readFileSync(real)).digest("hex");
  return { kind: "module", shape, path: file, module_path: modulePath, module_sha256: digest };
}

/** True when `p` is not inside the folder `root` (both real paths). */
function escapes(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** FLUX.2 latents are (1, 128, height/16, width/16): the noise shape follows from the image size. */
function resolveFlux2(e: Extract<SweepSpec["evaluator"], { kind: "flux2-pickscore" }>, report: Report): Flux2PickScoreSpec | undefined {
  let ok = true;
  for (const side of ["height", "width"] as const) {
    if (e[side] % 16 !== 0) {
      report(["evaluator", side], `${side} ${e[side]} is not a multiple of 16 (FLUX.2 latents are 1/16 of the image per side)`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  const shape: NoiseShape = [1, 128, e.height / 16, e.width / 16];
  const given = e.shape;
  if (given && given.some((d, i) => d !== shape[i])) {
    report(["evaluator", "shape"], `shape [${given.join(", ")}] disagrees with height ${e.height} and width ${e.width}, which give [${shape.join(", ")}]; drop shape`);
    return undefined;
  }
  const { model, height, width, steps, score, precision, max_batch, reward, heldout } = e;
  const optimised = reward ?? model;
  const seen = new Set<string>();
  for (const [i, h] of (heldout ?? []).entries()) {
    if (h === optimised) {
      report(["evaluator", "heldout", i], `held-out reward '${h}' is the optimised one${reward ? " (evaluator.reward)" : " (the PickScore of evaluator.model)"}: a held-out reward must be another`);
      ok = false;
    }
    if (seen.has(h)) {
      report(["evaluator", "heldout", i], `held-out reward '${h}' is named twice`);
      ok = false;
    }
    seen.add(h);
  }
  if (!ok) return undefined;
  return {
    kind: "flux2-pickscore", shape, model, height, width, steps, score, precision, max_batch,
    ...(reward ? { reward } : {}), ...(heldout && heldout.length > 0 ? { heldout } : {}),
  };
}

/** Fields that change no score (where the module lives, batch size) are left out. */
function fingerprintedEvaluator(e: EvaluatorSpec): Record<string, unknown> {
  if (e.kind === "module") return { kind: e.kind, shape: e.shape, module_sha256: e.module_sha256 };
  if (e.kind === "flux2-pickscore") {
    const { model, height, width, steps, score, precision, reward } = e;
    return { kind: e.kind, shape: e.shape, model, height, width, steps, score, precision, ...(reward ? { reward } : {}) };
  }
  return { kind: e.kind, shape: e.shape };
}

function defaultName(file: string): string {
  return path.basename(file).replace(/\.(ya?ml)$/i, "").replace(/[^A-Za-z0-9_.-]+/g, "-") || "sweep";
}

/** JSON with object keys sorted, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
