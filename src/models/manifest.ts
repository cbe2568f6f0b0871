/**
 * A model directory's manifest.json: every file (size, sha256), every graph (inputs, outputs), the
 * constants the evaluator needs, and where the weights came from. One zod schema reads it, so a
 * damaged or foreign manifest is a clear error, not a crash later.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { requireFiniteWeights } from "./finite-weights.js";
import { ModelInputError } from "./model-error.js";

export const MANIFEST_FORMAT = "sweep-model/1";
/**
 * The layout of the graphs: 2 = fused attention, norms and rotary embedding, opset 22 (bfloat16
 * convolutions). Manifests without it hold the graphs of earlier versions, which are refused.
 */
export const GRAPH_VERSION = 2;
export const MANIFEST_FILE = "manifest.json";

/** A graph input or output: the same form in every manifest (flux2-pickscore and reward directories). */
export const signatureSchema = z.strictObject({
  name: z.string(),
  dtype: z.enum(["float32", "float16", "bfloat16", "float64", "int64", "int32", "uint8", "bool"]),
  shape: z.array(z.union([z.number().int(), z.string()])),
});

const graph = z.strictObject({
  file: z.string(),
  inputs: z.array(signatureSchema),
  outputs: z.array(signatureSchema),
  /** bytes the graph's weights take in its compute type once onnxruntime has folded the casts */
  weight_bytes: z.number().int().min(0),
});

export const GRAPH_NAMES = ["text_encoder", "transformer", "vae_decoder", "clip_vision", "clip_text"] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export const precisionSchema = z.enum(["float32", "float16", "bfloat16"]);
const precision = precisionSchema;
export type Precision = z.infer<typeof precision>;

const count = z.number().int().positive();
const tower = z.strictObject({ hidden: count, intermediate: count, heads: count, layers: count, tokens: count });
/** The sizes the memory estimate (memory-estimate.ts) works from. */
const dimensions = z.strictObject({
  transformer: z.strictObject({ heads: count, head_dim: count, mlp_hidden: count, layers: z.number().int().min(0), single_layers: z.number().int().min(0), channels: count, joint_dim: count, text_length: count }),
  text_encoder: z.strictObject({ hidden: count, intermediate: count, heads: count, head_dim: count, layers: z.number().int().min(0), length: count }),
  vae_decoder: z.strictObject({ block_out_channels: z.array(count).min(1), layers_per_block: count, latent_channels: count }),
  clip_vision: tower,
  clip_text: tower,
});
export type ModelDimensions = z.infer<typeof dimensions>;

/** CLIP's image preprocessing as manifests record it (transformers' CLIPImageProcessor: shortest edge, centre crop, normalise). */
export const clipImageFields = {
  size: z.number().int(),
  crop_height: z.number().int(),
  crop_width: z.number().int(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number(), z.number(), z.number()]),
  rescale_factor: z.number(),
};

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  graph_version: z.literal(GRAPH_VERSION),
  kind: z.literal("flux2-pickscore"),
  tool_version: z.string(),
  created: z.string(),
  /** null for imported checkpoints; the synthetic model's name otherwise */
  synthetic: z.enum(["flux2-tiny", "flux2-klein-4b"]).nullable(),
  sources: z.record(z.string(), z.strictObject({ dir: z.string(), files: z.array(z.strictObject({ path: z.string(), bytes: z.number(), sha256: z.string() })) })),
  /** every file of the model directory but the manifest, relative to it */
  files: z.array(z.strictObject({ path: z.string(), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  /** graphs per compute precision */
  graphs: z.partialRecord(precision, z.strictObject(Object.fromEntries(GRAPH_NAMES.map((g) => [g, graph])) as Record<GraphName, typeof graph>)),
  weights_dtype: z.enum(["float32", "float16", "bfloat16"]),
  dimensions,
  constants: z.strictObject({
    text_max_length: z.number().int(),
    text_hidden_layers: z.array(z.number().int()),
    text_hidden_size: z.number().int(),
    clip_max_length: z.number().int(),
    latent_channels: z.number().int(),
    /** pixels per latent along each axis */
    latent_scale: z.number().int(),
    rope_axes: z.array(z.number().int()),
    rope_theta: z.number(),
    schedule: z.strictObject({ kind: z.literal("flux2-empirical-mu"), a1: z.number(), b1: z.number(), a2: z.number(), b2: z.number(), seq_len_threshold: z.number() }),
    clip_image: z.strictObject({ ...clipImageFields, resample: z.literal("bicubic-antialias") }),
    logit_scale: z.number(),
    projection_dim: z.number().int(),
  }),
  tokenizers: z.strictObject({ text: z.string(), clip: z.string() }),
  /** the source configs as imported, relative to the model directory */
  configs: z.strictObject({ text_encoder: z.string(), transformer: z.string(), vae: z.string(), clip: z.string() }),
  /** sha256 of the manifest's JSON without this field (manifestDigest): a hand edit shows. Absent before it was written. */
  digest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

export const CONFIG_FILES = {
  text_encoder: "configs/text_encoder.json",
  transformer: "configs/transformer.json",
  vae: "configs/vae.json",
  clip: "configs/clip.json",
} as const;
export type ModelManifest = z.infer<typeof manifestSchema>;

/**
 * The manifest's own digest: sha256 of its JSON without `digest`. The manifest steers the
 * evaluation (token lengths, image sizes, constants), so an edited one must not be used silently.
 */
export function manifestDigest(manifest: Record<string, unknown>): string {
  const { digest: _, ...rest } = manifest;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

/** A model directory's manifest.json as JSON, or one line saying why not (`made`: the command that makes one). */
export function readManifestJson(modelDir: string, made: string): { file: string; json: unknown } {
  const file = path.join(modelDir, MANIFEST_FILE);
  if (!existsSync(file)) throw new ModelInputError(`${file}: not found (is ${modelDir} a model directory made by '${made}'?)`);
  try {
    return { file, json: JSON.parse(readFileSync(file, "utf8")) };
  } catch (e) {
    throw new ModelInputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

export function readManifest(modelDir: string): ModelManifest {
  const { file, json } = readManifestJson(modelDir, "sweep models import");
  const version = (json as { graph_version?: unknown } | null)?.graph_version;
  if (typeof json === "object" && json !== null && version !== GRAPH_VERSION) {
    throw new ModelInputError(
      `${file}: graphs of ${version === undefined ? "an earlier sweep" : `graph version ${JSON.stringify(version)}`}, this sweep builds version ${GRAPH_VERSION} ` +
        `(fused attention, bfloat16 convolutions): run 'sweep models import' again for ${modelDir} (the weights are linked, not copied)`,
    );
  }
  const recorded = (json as { digest?: unknown } | null)?.digest;
  if (typeof recorded === "string" && recorded !== manifestDigest(json as Record<string, unknown>)) {
    throw new ModelInputError(`${file}: changed since import (its content no longer matches its digest); restore it, or import the model again`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelInputError(`${file}: field '${issue.path.join(".")}': ${issue.message}`);
  }
  return parsed.data;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Checks the files a manifest names: sizes always (cheap, catches truncation and swaps), digests
 * when `full` (reads every byte; `sweep worker --verify`).
 */
export async function verifyModelFiles(modelDir: string, manifest: Pick<ModelManifest, "files">, full: boolean): Promise<void> {
  for (const f of manifest.files) {
    const p = path.join(modelDir, f.path);
    if (!existsSync(p)) throw new ModelInputError(`${p}: missing from the model directory (the manifest lists it)`);
    const bytes = statSync(p).size;
    if (bytes !== f.bytes) throw new ModelInputError(`${p}: ${bytes} bytes, the manifest says ${f.bytes} bytes: the file changed since import`);
    if (full) {
      const digest = await sha256File(p);
      if (digest !== f.sha256) throw new ModelInputError(`${p}: sha256 ${digest.slice(0, 12)}..., the manifest says ${f.sha256.slice(0, 12)}...: the file changed since import`);
      requireFiniteWeights(p);
    }
  }
}
