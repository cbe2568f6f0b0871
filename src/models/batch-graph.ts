/**
 * One graph for one batch of a flux2-pickscore evaluation: noises in, CLIP image embeddings (and the
 * uint8 images, fetched only when asked for) out, so the host sends the noises and the prompt's
 * embedding once and reads back a few kilobytes, instead of five graph runs with every intermediate
 * crossing the host between them.
 *
 * It computes what the stage graphs and the host between them compute, in the same order and types:
 * the token layout, each step's transformer call (unrolled: the weights are the stage graphs' own
 * initializers, read once whatever the number of steps) and the Euler update in float32, the
 * layout back, the VAE decoder, `clip((x + 1) * 127.5, 0, 255)` truncated to uint8, CLIP's
 * preprocessing (clip-preprocess-graph.ts, exact) and the vision tower. Built per (image size,
 * steps) on the worker when first needed, kept in memory (model directories are read-only on
 * clusters); the RoPE tables of the size are constants of it.
 */
import { imageIds, ropeTables, textIds } from "./flux2/rope.js";
import { transformerVelocity } from "./flux2/transformer-graph.js";
import { decodeLatents } from "./flux2/vae-decoder-graph.js";
import type { GraphBuilder } from "./onnx/graph-builder.js";
import { clipImageEmbeds } from "./pickscore/clip-graphs.js";
import { clipPreprocess } from "./pickscore/clip-preprocess-graph.js";
import type { ClipPreprocessConfig } from "./pickscore/clip-preprocessor-config.js";
import type { StageConfigs } from "./stage-graphs.js";

export interface BatchGraphOptions {
  height: number;
  width: number;
  steps: number;
  textLength: number;
  clipImage: ClipPreprocessConfig;
  /** also output every intermediate the reference traces (tests): more memory, same arithmetic */
  trace?: boolean;
}

/** Pixels per latent along each axis (the VAE's 8 and the 2x2 unpatchify). */
const LATENT_SCALE = 16;

/**
 * Inputs: `noise` float32 (B, 4 x latent_channels, height/16, width/16); `prompt_embeds` float32
 * (1, textLength, joint_attention_dim), expanded to the batch inside; `sigmas` float32 (steps + 1),
 * the last 0 (schedule.ts). Outputs: `image_embeds` float32 (B, projection_dim), unit length;
 * `images` uint8 (B, height, width, 3); `latents_sum` and `image_sum` float32 (B), each row's sum of
 * the final latents and of the decoded image (finite exactly when the row is).
 */
export function buildBatchGraph(b: GraphBuilder, cfg: StageConfigs, o: BatchGraphOptions): void {
  const C = cfg.transformer.inChannels;
  const rows = o.height / LATENT_SCALE;
  const cols = o.width / LATENT_SCALE;
  const S = rows * cols;
  const noise = b.input("noise", "float32", ["batch", C, rows, cols]);
  const promptOnce = b.input("prompt_embeds", "float32", [1, o.textLength, cfg.transformer.jointAttentionDim]);
  const sigmas = b.input("sigmas", "float32", [o.steps + 1]);
  const trace = (value: string, name: string, dims: (number | string)[], type: "float32" | "uint8" = "float32") => {
    if (o.trace) b.output(value, name, type, dims);
  };

  const batch = b.op("Slice", [b.op("Shape", [noise]), b.int64s([0]), b.int64s([1])]);
  const prompt = b.op("Expand", [promptOnce, b.op("Concat", [batch, b.int64s([1, 1])], { axis: 0 })]);
  const { cos, sin } = ropeTables([...textIds(o.textLength), ...imageIds(rows, cols)], cfg.transformer.axesDimsRope, cfg.transformer.ropeTheta);
  // one value per interleaved pair, as transformerVelocity takes them
  const half = (table: Float32Array) => table.filter((_, k) => k % 2 === 0);
  const headDim = cfg.transformer.attentionHeadDim;
  const rope = { cos: b.constant(half(cos), [o.textLength + S, headDim / 2]), sin: b.constant(half(sin), [o.textLength + S, headDim / 2]) };

  // (B, C, rows, cols) -> (B, S, C)
  let latents = b.op("Transpose", [b.op("Reshape", [noise, b.int64s([0, C, S])])], { perm: [0, 2, 1] });
  const sigma = (i: number) => b.op("Gather", [sigmas, b.constant([i], [], "int64")], { axis: 0 });
  const thousand = b.constant([1000], []);
  for (let i = 0; i < o.steps; i++) {
    trace(latents, `step${i}_latents_in`, ["batch", S, C]);
    // the model sees fl(fl(sigma * 1000) / 1000), every row the same
    const t = b.op("Div", [b.op("Mul", [sigma(i), thousand]), thousand]);
    const timestep = b.op("Expand", [t, batch]);
    const velocity = transformerVelocity(b, cfg.transformer, { latents, timestep, prompt, rope, textLength: o.textLength });
    trace(velocity, `step${i}_velocity`, ["batch", S, C]);
    // latents += v * (sigma_{i+1} - sigma_i), two float32 roundings as the reference's
    latents = b.op("Add", [latents, b.op("Mul", [velocity, b.op("Sub", [sigma(i + 1), sigma(i)])])]);
  }

  // per-row sums: finite exactly when every value is, so the host can name the stage that overflowed
  b.output(b.op("ReduceSum", [latents, b.int64s([1, 2])], { keepdims: 0 }), "latents_sum", "float32", ["batch"]);
  const vaeIn = b.op("Reshape", [b.op("Transpose", [latents], { perm: [0, 2, 1] }), b.int64s([0, C, rows, cols])]);
  trace(vaeIn, "vae_in", ["batch", C, rows, cols]);
  const decoded = decodeLatents(b, cfg.vae, vaeIn);
  trace(decoded, "vae_out", ["batch", 3, o.height, o.width]);
  b.output(b.op("ReduceSum", [decoded, b.int64s([1, 2, 3])], { keepdims: 0 }), "image_sum", "float32", ["batch"]);
  // DiffSynth's vae_output_to_image: ((x + 1) * 127.5).clip(0, 255) to uint8 (the cast truncates)
  const scaled = b.op("Mul", [b.op("Add", [decoded, b.constant([1], [])]), b.constant([127.5], [])]);
  const image = b.cast(b.op("Clip", [scaled, b.constant([0], []), b.constant([255], [])]), "uint8");
  const images = b.op("Transpose", [image], { perm: [0, 2, 3, 1] });
  trace(images, "image_uint8", ["batch", o.height, o.width, 3], "uint8");
  const pixels = clipPreprocess(b, image, o.height, o.width, o.clipImage);
  trace(pixels, "pixel_values", ["batch", 3, o.clipImage.cropSize.height, o.clipImage.cropSize.width]);
  b.output(clipImageEmbeds(b, cfg.clip, pixels), "image_embeds", "float32", ["batch", cfg.clip.projectionDim]);
  b.output(images, "images", "uint8", ["batch", o.height, o.width, 3]);
}
