/**
 * `sweep models import`: turns the checkpoint folders users download (FLUX.2-klein, PickScore, the
 * CLIP processor) into a model directory: ONNX graphs built here from the configs, the weights
 * linked (or copied) beside them as the graphs' external data, the tokenizers copied as they are,
 * and a manifest with every file's digest. Everything is written to a temporary folder that is
 * renamed at the end, so a failed import leaves nothing behind.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { VERSION } from "../version.js";
import { parseClipPreprocessorConfig } from "./pickscore/clip-preprocessor-config.js";
import { parseQwen3Config } from "./flux2/text-encoder-graph.js";
import { parseFlux2TransformerConfig } from "./flux2/transformer-graph.js";
import { parseFlux2VaeConfig } from "./flux2/vae-decoder-graph.js";
import { requireFiniteWeights } from "./finite-weights.js";
import { CONFIG_FILES, GRAPH_NAMES, GRAPH_VERSION, MANIFEST_FILE, MANIFEST_FORMAT, manifestDigest, sha256File, type GraphName, type ModelManifest, type Precision } from "./manifest.js";
import { CHECKPOINT_STEMS } from "./model-configs.js";
import { writeModelFolder } from "./model-folder.js";
import { ModelInputError } from "./model-error.js";
import { GraphBuilder } from "./onnx/graph-builder.js";
import { parseClipConfig, readLogitScale } from "./pickscore/clip-graphs.js";
import { Checkpoint } from "./safetensors.js";
import { stageDimensions, stageGraphBuilders, TEXT_HIDDEN_LAYERS, TEXT_MAX_LENGTH, type StageConfigs } from "./stage-graphs.js";
import { readJsonFile } from "./json-file.js";

export { TEXT_HIDDEN_LAYERS, TEXT_MAX_LENGTH };
export const PRECISIONS: Precision[] = ["float32", "float16", "bfloat16"];

export interface ImportSources {
  /** FLUX.2-klein folder: transformer/, text_encoder/, vae/, tokenizer/ */
  flux2: string;
  /** PickScore_v1 folder: config.json, model.safetensors */
  pickscore: string;
  /** CLIP processor folder: preprocessor_config.json, tokenizer files */
  processor: string;
}

export interface ImportOptions extends ImportSources {
  out: string;
  synthetic?: ModelManifest["synthetic"];
  log?: (line: string) => void;
}

interface Component {
  key: string;
  dir: string;
  stem: string;
}

function requireDir(dir: string, flag: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelInputError(`${flag} ${dir}: not a folder`);
}

export interface ParsedSources extends StageConfigs {
  clipImage: ReturnType<typeof parseClipPreprocessorConfig>;
}

/** Reads and cross-checks every config before anything is written. */
export function parseSources(src: ImportSources): ParsedSources {
  requireDir(src.flux2, "--flux2");
  requireDir(src.pickscore, "--pickscore");
  requireDir(src.processor, "--processor");
  const cfg = (dir: string, file: string) => {
    const p = path.join(dir, file);
    return { json: readJsonFile(p), file: p };
  };
  const t = cfg(path.join(src.flux2, "text_encoder"), "config.json");
  const text = parseQwen3Config(t.json, t.file);
  const d = cfg(path.join(src.flux2, "transformer"), "config.json");
  const transformer = parseFlux2TransformerConfig(d.json, d.file);
  const v = cfg(path.join(src.flux2, "vae"), "config.json");
  const vae = parseFlux2VaeConfig(v.json, v.file);
  const c = cfg(src.pickscore, "config.json");
  const clip = parseClipConfig(c.json, c.file);
  const p = cfg(src.processor, "preprocessor_config.json");
  const clipImage = parseClipPreprocessorConfig(p.json, p.file);

  const stacked = TEXT_HIDDEN_LAYERS.length * text.hiddenSize;
  if (transformer.jointAttentionDim !== stacked) {
    throw new ModelInputError(
      `${d.file}: joint_attention_dim is ${transformer.jointAttentionDim}, but the text encoder (${t.file}) gives ` +
        `${TEXT_HIDDEN_LAYERS.length} x hidden_size ${text.hiddenSize} = ${stacked}: the folders do not belong together`,
    );
  }
  const latent = vae.latentChannels * 4;
  if (transformer.inChannels !== latent || transformer.outChannels !== latent) {
    throw new ModelInputError(`${d.file}: in_channels/out_channels are ${transformer.inChannels}/${transformer.outChannels}; the VAE (${v.file}) has latent_channels ${vae.latentChannels}, so 4 x ${vae.latentChannels} = ${latent} expected`);
  }
  if (clipImage.cropSize.height !== clip.vision.imageSize || clipImage.cropSize.width !== clip.vision.imageSize) {
    throw new ModelInputError(`${p.file}: crop_size ${clipImage.cropSize.height}x${clipImage.cropSize.width} differs from the vision tower's image_size ${clip.vision.imageSize} (${c.file})`);
  }
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
    if (!existsSync(path.join(src.flux2, "tokenizer", f))) throw new ModelInputError(`${path.join(src.flux2, "tokenizer", f)}: file not found`);
    if (!existsSync(path.join(src.processor, f))) throw new ModelInputError(`${path.join(src.processor, f)}: file not found`);
  }
  return { text, transformer, vae, clip, clipImage };
}

/**
 * Hard link where the file system allows (no copy of gigabytes), a streamed copy otherwise. A
 * symbolic link (the Hugging Face cache's snapshots/REV/FILE -> ../../blobs/HASH) is resolved first:
 * linking the link itself would leave a relative target dangling, or the model depending on the
 * source folder staying where it is.
 */
export function linkOrCopy(link: string, to: string): void {
  const from = realpathSync(link);
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

export function copyFolderFiles(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const p = path.join(from, name);
    if (statSync(p).isFile()) copyFileSync(p, path.join(to, name));
  }
}

/** The source configs, as read: a worker parses them again to build the batch graph for a size. */
function copyConfigs(src: ImportSources, dir: string): void {
  mkdirSync(path.join(dir, "configs"));
  const from: Record<keyof ModelManifest["configs"], string> = {
    text_encoder: path.join(src.flux2, "text_encoder", "config.json"),
    transformer: path.join(src.flux2, "transformer", "config.json"),
    vae: path.join(src.flux2, "vae", "config.json"),
    clip: path.join(src.pickscore, "config.json"),
  };
  for (const [key, file] of Object.entries(from)) copyFileSync(file, path.join(dir, CONFIG_FILES[key as keyof typeof from]));
}

/** Links a checkpoint's files (and its shard index) into `to` and opens it there. */
function placeWeights(c: Component, modelDir: string): { checkpoint: Checkpoint; sources: string[] } {
  const source = new Checkpoint(c.dir, c.stem);
  const to = path.join(modelDir, "weights", c.key);
  mkdirSync(to, { recursive: true });
  const files = [...source.files];
  const index = path.join(c.dir, `${c.stem}.safetensors.index.json`);
  if (existsSync(index)) files.push(index);
  for (const f of files) linkOrCopy(f, path.join(to, path.basename(f)));
  return { checkpoint: new Checkpoint(to, c.stem), sources: files };
}

export async function importModels(opts: ImportOptions): Promise<ModelManifest> {
  const log = opts.log ?? (() => {});
  const parsed = parseSources(opts);
  // Weights are read from their links in the temporary folder: errors name the user's files instead.
  return writeModelFolder(opts.out, (tmp) => writeModelDir(opts, parsed, tmp, log), (message, tmp) => sourcePaths(message, tmp, opts));
}

function sourcePaths(message: string, tmp: string, src: ImportSources): string {
  const weights = path.join(tmp, "weights");
  return message
    .replaceAll(path.join(weights, "text_encoder"), path.join(src.flux2, "text_encoder"))
    .replaceAll(path.join(weights, "transformer"), path.join(src.flux2, "transformer"))
    .replaceAll(path.join(weights, "vae"), path.join(src.flux2, "vae"))
    .replaceAll(path.join(weights, "pickscore"), src.pickscore);
}

/** The checkpoints a model directory is built from, and where each one's weights are. */
function componentSources(opts: ImportOptions): Component[] {
  return [
    { key: "text_encoder", dir: path.join(opts.flux2, "text_encoder"), stem: CHECKPOINT_STEMS.text_encoder },
    { key: "transformer", dir: path.join(opts.flux2, "transformer"), stem: CHECKPOINT_STEMS.transformer },
    { key: "vae", dir: path.join(opts.flux2, "vae"), stem: CHECKPOINT_STEMS.vae },
    { key: "pickscore", dir: opts.pickscore, stem: CHECKPOINT_STEMS.pickscore },
  ];
}

/** Which checkpoint each graph reads its weights from. */
const WEIGHTS_OF: Record<GraphName, string> = {
  text_encoder: "text_encoder",
  transformer: "transformer",
  vae_decoder: "vae",
  clip_vision: "pickscore",
  clip_text: "pickscore",
};

type Placed = Record<string, ReturnType<typeof placeWeights>>;

async function writeModelDir(opts: ImportOptions, parsed: ParsedSources, dir: string, log: (line: string) => void): Promise<ModelManifest> {
  const components = componentSources(opts);
  const placed: Placed = Object.fromEntries(components.map((c) => [c.key, placeWeights(c, dir)]));
  for (const p of Object.values(placed)) for (const f of p.checkpoint.files) requireFiniteWeights(f);
  const graphs = writeGraphs(parsed, placed, dir, log);
  copyConfigs(opts, dir);
  copyFolderFiles(path.join(opts.flux2, "tokenizer"), path.join(dir, "tokenizer"));
  copyFolderFiles(opts.processor, path.join(dir, "clip_processor"));
  const { files, digests } = await digestFiles(dir);
  log(`digests of ${files.length} files computed`);
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    graph_version: GRAPH_VERSION,
    kind: "flux2-pickscore",
    tool_version: VERSION,
    created: new Date().toISOString(),
    synthetic: opts.synthetic ?? null,
    sources: sourceRecords(opts, components, placed, dir, digests),
    files,
    graphs,
    weights_dtype: weightsDtype(placed),
    dimensions: stageDimensions(parsed),
    constants: manifestConstants(parsed, placed),
    tokenizers: { text: "tokenizer", clip: "clip_processor" },
    configs: CONFIG_FILES,
  };
  manifest.digest = manifestDigest(manifest);
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** The dtype the weights are stored in (the widest float of any checkpoint; int64 tensors aside). */
function weightsDtype(placed: Placed): ModelManifest["weights_dtype"] {
  const dtypes = new Set(Object.values(placed).flatMap((p) => [...p.checkpoint.tensors.values()].map((t) => t.dtype)).filter((d) => d !== "I64"));
  return dtypes.has("BF16") ? "bfloat16" : dtypes.has("F16") ? "float16" : "float32";
}

/** Every graph in every compute precision, written beside the weights they read. */
function writeGraphs(parsed: ParsedSources, placed: Placed, dir: string, log: (line: string) => void): ModelManifest["graphs"] {
  const builders = stageGraphBuilders(parsed);
  const graphs = {} as ModelManifest["graphs"];
  for (const precision of PRECISIONS) {
    const set = {} as NonNullable<ModelManifest["graphs"][Precision]>;
    for (const name of GRAPH_NAMES) {
      const b = new GraphBuilder({
        name: `${name}_${precision}`,
        compute: precision,
        weights: placed[WEIGHTS_OF[name]].checkpoint,
        location: (f) => path.relative(dir, f),
      });
      builders[name](b);
      const file = precision === "float32" ? `${name}.onnx` : `${name}.${precision}.onnx`;
      writeFileSync(path.join(dir, file), b.encode());
      set[name] = { file, ...b.describe(), weight_bytes: b.weightBytes() };
    }
    graphs[precision] = set;
    log(`graphs (${precision}) built`);
  }
  return graphs;
}

/** Size and sha256 of every file of the model directory (the manifest aside). */
export async function digestFiles(dir: string): Promise<{ files: ModelManifest["files"]; digests: Map<string, string> }> {
  const digests = new Map<string, string>();
  const files: ModelManifest["files"] = [];
  for (const rel of listFiles(dir)) {
    const abs = path.join(dir, rel);
    const sha256 = await sha256File(abs);
    digests.set(abs, sha256);
    files.push({ path: rel, bytes: statSync(abs).size, sha256 });
  }
  return { files, digests };
}

/** Where each checkpoint came from, file by file. */
function sourceRecords(opts: ImportOptions, components: Component[], placed: Placed, dir: string, digests: Map<string, string>): ModelManifest["sources"] {
  const sources: ModelManifest["sources"] = {};
  for (const c of components) {
    sources[c.key] = {
      // a synthetic model's sources are temporary: name what made them instead
      dir: opts.synthetic ? `sweep models import --synthetic ${opts.synthetic}` : path.resolve(c.dir),
      files: placed[c.key].sources.map((f) => {
        const linked = path.join(dir, "weights", c.key, path.basename(f));
        return { path: path.basename(f), bytes: statSync(f).size, sha256: digests.get(linked) as string };
      }),
    };
  }
  return sources;
}

/** What the pipeline needs besides the graphs: lengths, scales, the schedule, CLIP's preprocessing. */
function manifestConstants(parsed: ParsedSources, placed: Placed): ModelManifest["constants"] {
  const { text, transformer, clip, clipImage } = parsed;
  return {
    text_max_length: TEXT_MAX_LENGTH,
    text_hidden_layers: TEXT_HIDDEN_LAYERS,
    text_hidden_size: text.hiddenSize,
    clip_max_length: clip.text.maxPositions,
    latent_channels: transformer.inChannels,
    latent_scale: 16,
    rope_axes: transformer.axesDimsRope,
    rope_theta: transformer.ropeTheta,
    schedule: { kind: "flux2-empirical-mu", a1: 8.73809524e-5, b1: 1.89833333, a2: 0.00016927, b2: 0.45666666, seq_len_threshold: 4300 },
    clip_image: {
      size: clipImage.size,
      crop_height: clipImage.cropSize.height,
      crop_width: clipImage.cropSize.width,
      mean: [...clipImage.mean],
      std: [...clipImage.std],
      rescale_factor: clipImage.rescaleFactor,
      resample: "bicubic-antialias",
    },
    logit_scale: readLogitScale(placed.pickscore.checkpoint),
    projection_dim: clip.projectionDim,
  };
}

function listFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? path.join(rel, name) : name;
    if (statSync(path.join(root, r)).isDirectory()) out.push(...listFiles(root, r));
    else if (r !== MANIFEST_FILE) out.push(r);
  }
  return out;
}
