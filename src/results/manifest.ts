/**
 * manifest.json: what was run, with what, when, and how it ended. Replaced atomically; read back
 * (by --resume, report, noise, render) through one validated schema, so a torn or hand-edited
 * manifest is refused with one line naming the file and the field, never trusted as it is.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { RunFileError } from "./run-file-error.js";
import { requiredOptions, strategyEntrySchema } from "../strategies/registry.js";
import type { Sweep } from "../domain/sweep.js";

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

export const MANIFEST_FILE = "manifest.json";

/** One forced resume (`--resume --force`) that changed what determines the scores. */
export interface ConfigChange {
  at: string;
  from_fingerprint: string;
  to_fingerprint: string;
  /** The score-determining fields that changed (prompts, seeds, budgets, strategies, evaluator). */
  fields: string[];
  /** Each as "field: before -> after" (long values shortened). */
  changes: string[];
}

export interface Manifest {
  tool: "sweep";
  version: string;
  run_id: string;
  name: string;
  status: RunStatus;
  /** The sweep file and --set overrides of the latest start or resume. */
  config_file: string;
  overrides: string[];
  /** Of `config`: the run's current resolved config (a forced resume replaces both, see config_changes). */
  fingerprint: string;
  config: Sweep;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
  executor: { kind: string; workers: unknown[]; wire?: { request_bytes: number; response_bytes: number; candidates: number } };
  host: { node: string; platform: string; cpus: number };
  plan: { searches: number; trials: number; evaluations: number };
  counts: { evaluations: number; errors: number };
  failed_searches: { search_id: string; error: string }[];
  /** Why the run could not run at all (e.g. no worker reachable). */
  error?: string;
  /** The local worker's model root, where one was started: `sweep render` looks there first. */
  model_root?: string;
  /** One entry per `--resume`: when, and how many evaluations were already recorded. */
  resumes?: { at: string; recorded_before: number }[];
  /** One entry per forced resume that changed the config (oldest first). */
  config_changes?: ConfigChange[];
}

/** The file keeps the YAML's layout: the execution settings sit in the evaluator, as written. */
function configToFile({ execution, evaluator, ...rest }: Sweep): Record<string, unknown> {
  return { ...rest, evaluator: { ...evaluator, ...execution } };
}

function configFromFile(config: z.infer<typeof resolvedSweepSchema>): Sweep {
  const { timeout_s, retries, ...evaluator } = config.evaluator;
  return { ...config, evaluator, execution: { timeout_s, retries } } as unknown as Sweep;
}

export function writeManifest(runDir: string, manifest: Manifest): void {
  const file = path.join(runDir, MANIFEST_FILE);
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify({ ...manifest, config: configToFile(manifest.config) }, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (e) {
    // a full disk leaves no half-written manifest.json.tmp behind
    rmSync(tmp, { force: true });
    throw e;
  }
}

// The schema checks what readers use; objects are loose, so fields a newer version adds survive a resume.
const count = z.number().int().min(0);
const positive = z.number().int().min(1);
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const text = z.string();
const shape = z.tuple([z.literal(1), positive, positive, positive]);
const common = { shape, timeout_s: z.number().positive(), retries: count };

const resolvedSweepSchema = z.looseObject({
  name: text,
  description: text.optional(),
  prompts: z.array(text).min(1),
  seeds: z.array(seed).min(1),
  budgets: z.array(positive).min(1),
  strategies: z.array(strategyEntrySchema((s) => z.looseObject({ name: z.literal(s.name), label: text.min(1), ...requiredOptions(s) }))).min(1),
  evaluator: z.discriminatedUnion("kind", [
    z.looseObject({ kind: z.literal("synthetic"), ...common, latency_ms: z.number().min(0), jitter_ms: z.number().min(0) }),
    z.looseObject({ kind: z.literal("noop"), ...common }),
    z.looseObject({ kind: z.literal("module"), ...common, path: text, module_path: text, module_sha256: text }),
    z.looseObject({
      kind: z.literal("flux2-pickscore"), ...common, model: text, height: positive, width: positive, steps: positive,
      score: z.enum(["cosine", "logit"]), precision: z.enum(["float32", "float16", "bfloat16"]), max_batch: positive, model_dir: text.optional(),
    }),
  ]),
  threads: positive.optional(),
  workers: z.array(text).optional(),
  output: text,
  fingerprint: text,
  source: z.looseObject({ file: text, overrides: z.array(text) }),
});

const manifestSchema = z.looseObject({
  tool: z.literal("sweep"),
  version: text,
  run_id: text.min(1),
  name: text,
  status: z.enum(["running", "completed", "failed", "interrupted"]),
  config_file: text,
  overrides: z.array(text),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, "expected a sha256 in hex"),
  config: resolvedSweepSchema,
  started_at: text,
  finished_at: text.nullable(),
  duration_s: z.number().nullable(),
  executor: z.looseObject({ kind: text, workers: z.array(z.unknown()) }),
  host: z.looseObject({ node: text, platform: text, cpus: z.number() }),
  plan: z.looseObject({ searches: count, trials: count, evaluations: count }),
  counts: z.looseObject({ evaluations: count, errors: count }),
  failed_searches: z.array(z.looseObject({ search_id: text, error: text })),
  error: text.optional(),
  model_root: text.optional(),
  resumes: z.array(z.looseObject({ at: text, recorded_before: count })).optional(),
  config_changes: z.array(z.looseObject({ at: text, from_fingerprint: text, to_fingerprint: text, fields: z.array(text), changes: z.array(text).optional() })).optional(),
});

/** Where a JSON.parse error happened, as line:col of the text (V8 names the position). */
function jsonErrorAt(textIn: string, e: Error): string {
  const m = /position (\d+)/.exec(e.message);
  const at = m ? Number(m[1]) : textIn.length;
  const before = textIn.slice(0, at).split("\n");
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/**
 * The manifest of a run folder, validated. A missing folder, a folder without manifest.json, a torn
 * (truncated) or hand-edited file: RunFileError naming the file (and line or field) and what was
 * expected, exit code 2.
 */
export function readRunManifest(runDir: string): Manifest {
  const file = path.join(runDir, MANIFEST_FILE);
  if (!existsSync(runDir)) throw new RunFileError(`${runDir} is not a run folder: it does not exist`);
  if (!statSync(runDir).isDirectory()) throw new RunFileError(`${runDir} is not a run folder: it is a file`);
  if (!existsSync(file)) throw new RunFileError(`${runDir} is not a run folder: no ${MANIFEST_FILE}`);
  let data: unknown;
  let textIn: string;
  try {
    textIn = readFileSync(file, "utf8");
  } catch (e) {
    throw new RunFileError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    data = JSON.parse(textIn);
  } catch (e) {
    const reason = textIn.trim() === "" ? "the file is empty" : (e as Error).message.replace(/ in JSON at position \d+.*$/, "");
    throw new RunFileError(`${file}:${jsonErrorAt(textIn, e as Error)}: not valid JSON (${reason}); a manifest cut short or edited by hand: restore it, or start a new run`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const [first, ...more] = parsed.error.issues;
    const field = first.path.map(String).join(".") || "(the whole file)";
    throw new RunFileError(`${file}: ${field}: ${first.message}${more.length > 0 ? ` (and ${more.length} more problem${more.length > 1 ? "s" : ""})` : ""}`);
  }
  return { ...parsed.data, config: configFromFile(parsed.data.config) } as unknown as Manifest;
}
