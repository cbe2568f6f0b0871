/**
 * `sweep models import --synthetic NAME`: the model directory of `sweep models import` with seeded
 * random weights, so throughput can be measured and quick paths run with no download. Source folders
 * in the real checkpoints' layouts (configs, safetensors, tokenizers) are written beside the output,
 * imported by importModels as downloaded ones would be, and removed again.
 *
 * The tensors are not listed here: each graph is built once against a recorder that notes every
 * (name, shape) the graph builders ask for, so the checkpoints hold exactly what the graphs read.
 * Weights are streamed to disk piece by piece (flux2-klein-4b is about 16 GB in bfloat16).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { parseQwen3Config } from "../flux2/text-encoder-graph.js";
import { parseFlux2TransformerConfig } from "../flux2/transformer-graph.js";
import { parseFlux2VaeConfig } from "../flux2/vae-decoder-graph.js";
import { importModels, type ImportSources } from "../import-models.js";
import { GRAPH_NAMES, type GraphName, type ModelDimensions, type ModelManifest } from "../manifest.js";
import { ModelInputError } from "../model-error.js";
import { GraphBuilder, type ComputeType } from "../onnx/graph-builder.js";
import { parseClipConfig } from "../pickscore/clip-graphs.js";
import { buildBatchGraph } from "../batch-graph.js";
import { parseClipPreprocessorConfig } from "../pickscore/clip-preprocessor-config.js";
import { stageDimensions, stageGraphBuilders, TEXT_MAX_LENGTH, type StageConfigs } from "../stage-graphs.js";
import type { TensorLocation, WeightSource } from "../safetensors.js";
import type { SyntheticModelName } from "./synthetic-names.js";

export { SYNTHETIC_MODELS, type SyntheticModelName } from "./synthetic-names.js";

type Dtype = "F32" | "BF16" | "I64";
export const BYTES: Record<Dtype, number> = { F32: 4, BF16: 2, I64: 8 };

interface Dims {
  seed: number;
  dtype: "float32" | "bfloat16";
  transformer: { layers: number; singleLayers: number; heads: number; headDim: number; jointDim: number; axes: number[] };
  text: { hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number; headDim: number; vocab: number };
  vae: { channels: number[]; layersPerBlock: number; groups: number };
  clip: {
    text: { hidden: number; intermediate: number; layers: number; heads: number; vocab: number };
    vision: { hidden: number; intermediate: number; layers: number; heads: number };
    projection: number;
  };
}

/** The 256 characters GPT-2's byte-level BPE maps bytes to, in its vocabulary order. */
const BYTE_CHARS: string[] = (() => {
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  const printable = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)];
  const chars = printable.map((b) => String.fromCodePoint(b));
  let shifted = 0;
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) chars.push(String.fromCodePoint(256 + shifted++));
  return chars;
})();

const QWEN_SPECIALS = [
  { content: "<|endoftext|>", special: true },
  { content: "<|im_start|>", special: true },
  { content: "<|im_end|>", special: true },
  { content: "<think>", special: false },
  { content: "</think>", special: false },
];
/** Token ids the generated tokenizers use: the byte alphabet, then (CLIP) its `</w>` forms, then the specials. */
const QWEN_TOKENS = BYTE_CHARS.length + QWEN_SPECIALS.length;
export const CLIP_TOKENS = 2 * BYTE_CHARS.length + 2;

const MODELS: Record<SyntheticModelName, Dims> = {
  // The dimensions of the golden tiny checkpoints (reference/flux2), vocabularies sized to the tokenizers.
  "flux2-tiny": {
    seed: 0x5eed_0001,
    dtype: "float32",
    transformer: { layers: 1, singleLayers: 2, heads: 2, headDim: 16, jointDim: 96, axes: [4, 4, 4, 4] },
    text: { hidden: 32, intermediate: 64, layers: 28, heads: 4, kvHeads: 2, headDim: 8, vocab: QWEN_TOKENS },
    vae: { channels: [16, 32, 32, 32], layersPerBlock: 1, groups: 8 },
    clip: {
      text: { hidden: 32, intermediate: 128, layers: 2, heads: 4, vocab: CLIP_TOKENS },
      vision: { hidden: 32, intermediate: 128, layers: 2, heads: 4 },
      projection: 16,
    },
  },
  // black-forest-labs/FLUX.2-klein-4B (transformer, Qwen3-4B text encoder, VAE) and PickScore_v1 (CLIP ViT-H/14).
  "flux2-klein-4b": {
    seed: 0x5eed_0002,
    dtype: "bfloat16",
    transformer: { layers: 5, singleLayers: 20, heads: 24, headDim: 128, jointDim: 7680, axes: [32, 32, 32, 32] },
    text: { hidden: 2560, intermediate: 9728, layers: 36, heads: 32, kvHeads: 8, headDim: 128, vocab: 151936 },
    vae: { channels: [128, 256, 512, 512], layersPerBlock: 2, groups: 32 },
    clip: {
      text: { hidden: 1024, intermediate: 4096, layers: 24, heads: 16, vocab: 49408 },
      vision: { hidden: 1280, intermediate: 5120, layers: 32, heads: 16 },
      projection: 1024,
    },
  },
};

function transformerConfig(d: Dims): object {
  const t = d.transformer;
  return {
    _class_name: "Flux2Transformer2DModel",
    patch_size: 1,
    in_channels: 128,
    out_channels: null,
    num_layers: t.layers,
    num_single_layers: t.singleLayers,
    attention_head_dim: t.headDim,
    num_attention_heads: t.heads,
    joint_attention_dim: t.jointDim,
    timestep_guidance_channels: 256,
    mlp_ratio: 3.0,
    axes_dims_rope: t.axes,
    rope_theta: 2000,
    eps: 1e-6,
    guidance_embeds: false,
  };
}

function qwen3Config(d: Dims): object {
  const t = d.text;
  return {
    architectures: ["Qwen3ForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: null,
    dtype: d.dtype,
    eos_token_id: null,
    head_dim: t.headDim,
    hidden_act: "silu",
    hidden_size: t.hidden,
    initializer_range: 0.02,
    intermediate_size: t.intermediate,
    layer_types: new Array(t.layers).fill("full_attention"),
    max_position_embeddings: 40960,
    max_window_layers: t.layers,
    model_type: "qwen3",
    num_attention_heads: t.heads,
    num_hidden_layers: t.layers,
    num_key_value_heads: t.kvHeads,
    pad_token_id: null,
    rms_norm_eps: 1e-6,
    rope_parameters: { rope_theta: 1000000, rope_type: "default" },
    sliding_window: null,
    tie_word_embeddings: true,
    transformers_version: "5.17.0",
    use_cache: true,
    use_sliding_window: false,
    vocab_size: t.vocab,
  };
}

function vaeConfig(d: Dims): object {
  const v = d.vae;
  return {
    _class_name: "AutoencoderKLFlux2",
    in_channels: 3,
    out_channels: 3,
    down_block_types: new Array(v.channels.length).fill("DownEncoderBlock2D"),
    up_block_types: new Array(v.channels.length).fill("UpDecoderBlock2D"),
    block_out_channels: v.channels,
    layers_per_block: v.layersPerBlock,
    act_fn: "silu",
    latent_channels: 32,
    norm_num_groups: v.groups,
    sample_size: 1024,
    force_upcast: true,
    use_quant_conv: true,
    use_post_quant_conv: true,
    mid_block_add_attention: true,
    batch_norm_eps: 1e-4,
    batch_norm_momentum: 0.1,
    patch_size: [2, 2],
  };
}

/** PickScore_v1's logit_scale (exp of it is about 100). */
export const LOGIT_SCALE = 4.6052;

function clipConfig(d: Dims): object {
  const { text, vision, projection } = d.clip;
  const tower = (t: { hidden: number; intermediate: number; layers: number; heads: number }) => ({
    attention_dropout: 0.0,
    hidden_act: "gelu",
    hidden_size: t.hidden,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    intermediate_size: t.intermediate,
    layer_norm_eps: 1e-5,
    num_attention_heads: t.heads,
    num_hidden_layers: t.layers,
    projection_dim: projection,
  });
  return {
    architectures: ["CLIPModel"],
    dtype: d.dtype,
    initializer_factor: 1.0,
    logit_scale_init_value: LOGIT_SCALE,
    model_type: "clip",
    projection_dim: projection,
    // eos_token_id 2 is PickScore's legacy value: the text tower pools at the largest id, <|endoftext|> here.
    text_config: { ...tower(text), bos_token_id: 0, eos_token_id: 2, pad_token_id: 1, max_position_embeddings: 77, model_type: "clip_text_model", vocab_size: text.vocab },
    transformers_version: "5.17.0",
    vision_config: { ...tower(vision), image_size: 224, model_type: "clip_vision_model", num_channels: 3, patch_size: 14 },
  };
}

const added = (id: number, content: string, special: boolean, normalized: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized,
  special,
});

const bpe = (vocab: string[], unk: string | null, suffix: string | null) => ({
  type: "BPE",
  dropout: null,
  unk_token: unk,
  continuing_subword_prefix: null,
  end_of_word_suffix: suffix,
  fuse_unk: false,
  byte_fallback: false,
  ignore_merges: false,
  vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
  merges: [],
});

/** Qwen's standard minimal chat template (the one of the FLUX.2-klein tokenizer). */
const QWEN_CHAT_TEMPLATE =
  "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking is false %}" +
  "{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

/** Qwen3's tokenizer components (byte-level BPE, its split regex) over the byte alphabet alone: no merges. */
function qwenTokenizerFiles(): Record<string, string> {
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: QWEN_SPECIALS.map((t, i) => added(BYTE_CHARS.length + i, t.content, t.special, false)),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
          behavior: "Isolated",
          invert: false,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: "TemplateProcessing", single: [{ Sequence: { id: "A", type_id: 0 } }], pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }], special_tokens: {} },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: bpe(BYTE_CHARS, null, null),
  };
  const config = { backend: "tokenizers", eos_token: "<|im_end|>", model_max_length: 131072, pad_token: "<|endoftext|>", padding_side: "right", tokenizer_class: "TokenizersBackend" };
  return { "tokenizer.json": json(tokenizer), "tokenizer_config.json": json(config), "chat_template.jinja": QWEN_CHAT_TEMPLATE };
}

/** CLIP's tokenizer components (lower-casing, its split regex, `</w>` word ends) and image preprocessing. */
export function clipProcessorFiles(): Record<string, string> {
  const vocab = [...BYTE_CHARS, ...BYTE_CHARS.map((c) => `${c}</w>`)];
  const [start, end] = [vocab.length, vocab.length + 1];
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(start, "<|startoftext|>", true, true), added(end, "<|endoftext|>", true, true)],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: "Removed", invert: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: "RobertaProcessing", sep: ["<|endoftext|>", end], cls: ["<|startoftext|>", start], trim_offsets: false, add_prefix_space: false },
    decoder: { type: "BPEDecoder", suffix: "</w>" },
    model: bpe(vocab, "<|endoftext|>", "</w>"),
  };
  const config = { backend: "tokenizers", bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", model_max_length: 77, pad_token: "<|endoftext|>", tokenizer_class: "TokenizersBackend", unk_token: "<|endoftext|>" };
  const preprocessor = {
    crop_size: 224,
    do_center_crop: true,
    do_normalize: true,
    do_resize: true,
    feature_extractor_type: "CLIPFeatureExtractor",
    image_processor_type: "CLIPImageProcessor",
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    size: 224,
  };
  return { "tokenizer.json": json(tokenizer), "tokenizer_config.json": json(config), "preprocessor_config.json": json(preprocessor) };
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export interface PlannedTensor {
  name: string;
  shape: number[];
  dtype: Dtype;
}

type ComponentKey = "text_encoder" | "transformer" | "vae" | "pickscore";

interface Component {
  key: ComponentKey;
  /** folder under the sources root */
  dir: string;
  stem: string;
  config: (d: Dims) => object;
  /** split into shards of at most SHARD_BYTES, as the real text encoder is */
  sharded: boolean;
}

const COMPONENTS: Component[] = [
  { key: "text_encoder", dir: "flux2/text_encoder", stem: "model", config: qwen3Config, sharded: true },
  { key: "transformer", dir: "flux2/transformer", stem: "diffusion_pytorch_model", config: transformerConfig, sharded: false },
  { key: "vae", dir: "flux2/vae", stem: "diffusion_pytorch_model", config: vaeConfig, sharded: false },
  { key: "pickscore", dir: "pickscore", stem: "model", config: clipConfig, sharded: false },
];
const SHARD_BYTES = 5e9;

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A WeightSource that hands out placeholder locations and remembers what was asked for. */
export class TensorRecorder implements WeightSource {
  readonly tensors = new Map<string, number[]>();

  constructor(private readonly dtype: "F32" | "BF16") {}

  get(name: string, shape?: number[]): TensorLocation {
    if (!shape) throw new Error(`synthetic weights: a graph asked for '${name}' without its shape`);
    const known = this.tensors.get(name);
    if (known && known.join() !== shape.join()) throw new Error(`synthetic weights: '${name}' asked for as [${known}] and as [${shape}]`);
    this.tensors.set(name, [...shape]);
    return { name, dtype: this.dtype, shape, file: "", offset: 0, length: numel(shape) * BYTES[this.dtype] };
  }
}

/** A synthetic model's configs, parsed as the import parses the files it writes. */
function stageConfigs(name: SyntheticModelName): StageConfigs {
  const d = MODELS[name];
  const label = (key: string) => `synthetic ${name} ${key}/config.json`;
  const configOf = (key: ComponentKey) => (COMPONENTS.find((c) => c.key === key) as Component).config(d);
  return {
    text: parseQwen3Config(configOf("text_encoder"), label("text_encoder")),
    transformer: parseFlux2TransformerConfig(configOf("transformer"), label("transformer")),
    vae: parseFlux2VaeConfig(configOf("vae"), label("vae")),
    clip: parseClipConfig(configOf("pickscore"), label("pickscore")),
  };
}

/**
 * Each stage graph of a synthetic model at its real dimensions in `compute`, over placeholder
 * weights: for checks of the graphs themselves (kernels, structure) without writing gigabytes.
 */
export function syntheticStageGraphs(name: SyntheticModelName, compute: ComputeType): Record<GraphName, GraphBuilder> {
  const dtype: "F32" | "BF16" = MODELS[name].dtype === "float32" ? "F32" : "BF16";
  const builders = stageGraphBuilders(stageConfigs(name));
  return Object.fromEntries(
    GRAPH_NAMES.map((g) => {
      const b = new GraphBuilder({ name: `${g}_${compute}`, compute, weights: new TensorRecorder(dtype), location: () => "placeholder.safetensors" });
      builders[g](b);
      return [g, b];
    }),
  ) as Record<GraphName, GraphBuilder>;
}

/** The batch graph (models/batch-graph.ts) of a synthetic model at its real dimensions, over placeholder weights. */
export function syntheticBatchGraph(name: SyntheticModelName, compute: ComputeType, shape: { height: number; width: number; steps: number }): GraphBuilder {
  const dtype: "F32" | "BF16" = MODELS[name].dtype === "float32" ? "F32" : "BF16";
  const b = new GraphBuilder({ name: `batch_${compute}`, compute, weights: new TensorRecorder(dtype), location: () => "placeholder.safetensors" });
  const clipImage = parseClipPreprocessorConfig(JSON.parse(clipProcessorFiles()["preprocessor_config.json"]), `synthetic ${name} preprocessor_config.json`);
  buildBatchGraph(b, stageConfigs(name), { ...shape, textLength: TEXT_MAX_LENGTH, clipImage });
  return b;
}

/** A synthetic model's dimensions as its manifest records them. */
export function syntheticDimensions(name: SyntheticModelName): ModelDimensions {
  return stageDimensions(stageConfigs(name));
}

/** Every tensor the graphs of a synthetic model read, per checkpoint, in file order; nothing is written. */
export function plannedTensors(name: SyntheticModelName): Record<ComponentKey, PlannedTensor[]> {
  const dtype: "F32" | "BF16" = MODELS[name].dtype === "float32" ? "F32" : "BF16";
  const builders = stageGraphBuilders(stageConfigs(name));

  const record = (graphs: GraphName[], extra: PlannedTensor[]): PlannedTensor[] => {
    const recorder = new TensorRecorder(dtype);
    for (const g of graphs) builders[g](new GraphBuilder({ name: "record", compute: "float32", weights: recorder, location: () => "" }));
    const tensors = [...recorder.tensors].map(([n, shape]) => ({ name: n, shape, dtype }));
    // Widest elements first, then by name (the safetensors library's order): every tensor's data stays aligned.
    return [...tensors, ...extra].sort((a, b) => BYTES[b.dtype] - BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };
  return {
    text_encoder: record(["text_encoder"], []),
    transformer: record(["transformer"], []),
    // The real VAE's BatchNorm has this counter; the graphs never read it.
    vae: record(["vae_decoder"], [{ name: "bn.num_batches_tracked", shape: [], dtype: "I64" }]),
    // logit_scale is read by the import (not a graph); float32 keeps 4.6052 (bfloat16 would make it 4.59375).
    pickscore: record(["clip_vision", "clip_text"], [{ name: "logit_scale", shape: [], dtype: "F32" }]),
  };
}

export type Init = { kind: "constant"; value: number } | { kind: "uniform"; bound: number };

/**
 * Values that keep activations at unit scale through the real depths: matrices and convolutions
 * uniform with variance 1/fan_in, norm scales 1, biases and means 0, variances 1, embeddings std 0.02.
 */
export function initOf(t: PlannedTensor): Init {
  const { name, shape } = t;
  if (name === "logit_scale") return { kind: "constant", value: LOGIT_SCALE };
  // open_clip's names (the HPSv2 reward): in_proj_bias, ln_1/ln_2/ln_final/ln_pre/ln_post, positional_embedding
  if (name.endsWith("num_batches_tracked") || name.endsWith("running_mean") || name.endsWith(".bias") || name.endsWith("in_proj_bias")) return { kind: "constant", value: 0 };
  if (name.endsWith("running_var")) return { kind: "constant", value: 1 };
  // BLIP's names (the ImageReward reward): cls_token, pos_embed, word_embeddings, LayerNorm
  if (/embed_tokens|token_embedding|word_embeddings|position_embedding|positional_embedding|class_embedding|cls_token|pos_embed/.test(name)) return { kind: "uniform", bound: 0.02 * Math.sqrt(3) };
  if (shape.length === 1 && (/norm/i.test(name) || /(^|\.)ln_\w+\.weight$/.test(name)) && name.endsWith(".weight")) return { kind: "constant", value: 1 };
  if (shape.length >= 2) return { kind: "uniform", bound: Math.sqrt(3 / numel(shape.slice(1))) };
  throw new Error(`synthetic weights: no initialisation rule for '${name}' [${shape}]`);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
/** float -> bfloat16 bits, rounding to nearest even as torch does. */
function bf16Bits(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/**
 * Uniform values come from a table of 65536 evenly spaced levels in (-bound, bound), indexed by 16
 * random bits: one PRNG step makes two values, fast enough to fill bfloat16 at disk speed.
 */
const tables = new Map<string, Uint16Array | Float32Array>();
function uniformTable(dtype: "F32" | "BF16", bound: number): Uint16Array | Float32Array {
  const key = `${dtype}|${bound}`;
  let table = tables.get(key);
  if (!table) {
    const level = (k: number) => bound * ((2 * k + 1) / 65536 - 1);
    table = dtype === "F32" ? Float32Array.from({ length: 65536 }, (_, k) => level(k)) : Uint16Array.from({ length: 65536 }, (_, k) => bf16Bits(level(k)));
    tables.set(key, table);
  }
  return table;
}

/** FNV-1a, then a murmur3 finaliser: a well-mixed 32-bit seed per tensor name. */
export function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fills `count` values of a tensor into a buffer, continuing where the previous call stopped. */
type Filler = (buffer: ArrayBuffer, count: number) => void;

function fillerOf(t: PlannedTensor, seed: number): Filler {
  const init = initOf(t);
  if (init.kind === "constant") {
    if (t.dtype === "I64") return (buf, n) => new BigInt64Array(buf, 0, n).fill(BigInt(init.value));
    if (t.dtype === "F32") return (buf, n) => new Float32Array(buf, 0, n).fill(init.value);
    const bits = bf16Bits(init.value);
    return (buf, n) => new Uint16Array(buf, 0, n).fill(bits);
  }
  if (t.dtype === "I64") throw new Error(`synthetic weights: '${t.name}' is int64 but random`);
  const table = uniformTable(t.dtype, init.bound);
  // xorshift32 (a zero state would stay zero)
  let x = seed || 0x9e3779b9;
  return (buf, n) => {
    // The whole buffer, not n values: an odd last value may spill one slot past n, never written out.
    const out = t.dtype === "F32" ? new Float32Array(buf) : new Uint16Array(buf);
    for (let i = 0; i < n; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = table[x & 0xffff];
      out[i + 1] = table[x >>> 16];
    }
  };
}

export const PIECE_BYTES = 16 * 2 ** 20;

/**
 * One .safetensors file (8-byte little-endian header length, JSON header padded with spaces to a
 * multiple of 8, raw little-endian data), generated piece by piece into two alternating buffers so
 * that one is being written while the other is filled. Returns the file's size.
 */
export async function writeSafetensors(file: string, tensors: PlannedTensor[], seedOf: (t: PlannedTensor) => number, buffers: ArrayBuffer[]): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let dataBytes = 0;
  for (const t of tensors) {
    const n = numel(t.shape) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [dataBytes, dataBytes + n] };
    dataBytes += n;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(text));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(text, 8, "utf8");

  const fh = await open(file, "wx");
  let position = 0;
  const writeAll = async (bytes: Uint8Array) => {
    for (let done = 0; done < bytes.length; ) done += (await fh.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
    position += bytes.length;
  };
  let pending = writeAll(head);
  try {
    let turn = 0;
    for (const t of tensors) {
      const fill = fillerOf(t, seedOf(t));
      const perPiece = PIECE_BYTES / BYTES[t.dtype];
      for (let left = numel(t.shape); left > 0; ) {
        const count = Math.min(perPiece, left);
        const buffer = buffers[turn];
        turn ^= 1;
        fill(buffer, count);
        await pending;
        pending = writeAll(new Uint8Array(buffer, 0, count * BYTES[t.dtype]));
        left -= count;
      }
    }
    await pending;
  } finally {
    // never close under an outstanding write (its error, if any, is already on its way out)
    await pending.catch(() => {});
    await fh.close();
  }
  return position;
}

/** Greedy split in file order, each shard at most SHARD_BYTES of data. */
function shardsOf(tensors: PlannedTensor[]): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [[]];
  let bytes = 0;
  for (const t of tensors) {
    const n = numel(t.shape) * BYTES[t.dtype];
    if (bytes + n > SHARD_BYTES && bytes > 0) {
      shards.push([]);
      bytes = 0;
    }
    shards[shards.length - 1].push(t);
    bytes += n;
  }
  return shards;
}

function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** The three source folders of `sweep models import`, written under `root`. */
async function writeSources(name: SyntheticModelName, root: string, log: (line: string) => void): Promise<ImportSources> {
  const d = MODELS[name];
  const plan = plannedTensors(name);
  const buffers = [new ArrayBuffer(PIECE_BYTES), new ArrayBuffer(PIECE_BYTES)];
  for (const c of COMPONENTS) {
    const started = performance.now();
    const dir = path.join(root, c.dir);
    writeFiles(dir, { "config.json": json(c.config(d)) });
    const tensors = plan[c.key];
    const seedOf = (t: PlannedTensor) => hash32(`${c.key}/${t.name}`, d.seed);
    const total = tensors.reduce((n, t) => n + numel(t.shape) * BYTES[t.dtype], 0);
    const shards = c.sharded && total > SHARD_BYTES ? shardsOf(tensors) : [tensors];
    let bytes = 0;
    if (shards.length === 1) {
      bytes = await writeSafetensors(path.join(dir, `${c.stem}.safetensors`), tensors, seedOf, buffers);
    } else {
      const weightMap: Record<string, string> = {};
      for (const [i, shard] of shards.entries()) {
        const file = `${c.stem}-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
        bytes += await writeSafetensors(path.join(dir, file), shard, seedOf, buffers);
        for (const t of shard) weightMap[t.name] = file;
      }
      writeFiles(dir, { [`${c.stem}.safetensors.index.json`]: json({ metadata: { total_size: total }, weight_map: weightMap }) });
    }
    const params = tensors.reduce((n, t) => n + numel(t.shape), 0);
    const seconds = (performance.now() - started) / 1000;
    log(`synthetic ${name}: ${c.key} weights, ${(params / 1e6).toFixed(1)}M parameters, ${gb(bytes)} in ${seconds.toFixed(1)} s (${(bytes / 1e6 / seconds).toFixed(0)} MB/s)`);
  }
  writeFiles(path.join(root, "flux2/tokenizer"), qwenTokenizerFiles());
  writeFiles(path.join(root, "processor"), clipProcessorFiles());
  return { flux2: path.join(root, "flux2"), pickscore: path.join(root, "pickscore"), processor: path.join(root, "processor") };
}

/**
 * Writes the synthetic model's sources beside `out`, imports them into `out` (weights are hard-linked
 * where the file system allows, so they outlive the sources) and removes the sources, also on failure.
 */
export async function importSyntheticModels(name: SyntheticModelName, out: string, log: (line: string) => void): Promise<ModelManifest> {
  const target = path.resolve(out);
  // importModels checks this too, but only after gigabytes of sources would have been written.
  if (existsSync(target)) throw new ModelInputError(`--out ${target}: already exists; remove it or choose another folder`);
  const root = `${target}.source-${process.pid}`;
  rmSync(root, { recursive: true, force: true });
  try {
    const sources = await writeSources(name, root, log);
    return await importModels({ ...sources, out: target, synthetic: name, log });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
