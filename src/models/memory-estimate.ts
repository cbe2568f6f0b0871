/**
 * Memory one device slot needs to evaluate a flux2-pickscore spec, from the model's dimensions and
 * the graphs' weight bytes (both in the model manifest): weights, plus each stage's peak of live
 * activations. A worker holds three onnxruntime sessions, each with its own memory arena that keeps
 * its high-water mark: the text encoder's and the CLIP text tower's (once per prompt), and the batch
 * graph's (models/batch-graph.ts), whose stages run one after another in one arena: its peak is the
 * largest of the transformer's, the VAE's and CLIP vision's (with the preprocessing).
 *
 * The peaks count the tensors alive at each stage's widest point as the graphs compute them
 * (layers.ts, flux2/*, pickscore/clip-graphs.ts), with onnxruntime reusing a buffer once its last
 * reader has run:
 * - transformer: the single-stream block's fused projection and its split into q, k, v and the MLP
 *   input, beside the residual and the normalised stream: (8 dim + 4 mlp_hidden) values per token;
 * - VAE decoder: a full-resolution ResNet block's input, the two float32 buffers of its GroupNorm
 *   (statistics and affine in float32) and its convolution's output;
 * - text encoder and CLIP towers: a layer's projections and MLP, small beside the others.
 * Fused attention (flash or memory-efficient on CUDA; onnxruntime's CPU flash kernel without a
 * mask) keeps no score matrix; a materialised one (the text encoder's masked attention on a CPU)
 * costs heads x tokens^2 float32 values.
 *
 * onnxruntime's arenas grow by doubling (kNextPowerOfTwo, the default, which the Node binding cannot
 * change), so what a session holds exceeds what it uses at once: ARENA_GROWTH covers that, measured
 * on the CPU with flux2-tiny (bench/evaluator-memory.mjs: peaks 0.8-1.0 x the estimate at 768x768
 * and 1024x1024, max_batch 1 and 4). Not yet measured on a GPU.
 */
import type { GraphName, ModelDimensions, Precision } from "./manifest.js";
import type { RewardManifest } from "./rewards/reward-manifest.js";

export interface MemoryQuery {
  precision: Precision;
  height: number;
  width: number;
  /** rows per batch (max_batch: every batch runs padded to it) */
  batch: number;
}

export interface MemoryEstimate {
  /** weights of every stage and of the reward models beside them, in the compute type */
  weights: number;
  /** of which the reward models' (an objective other than PickScore, held-out rewards) */
  rewardWeights: number;
  /** peak activations per stage (what the stage uses at once; its arena holds up to ARENA_GROWTH times that) */
  activations: Record<GraphName, number>;
  /** weights + every stage's activations + the runtime's own (CUDA context, cuDNN/cuBLAS workspaces) */
  total: number;
}

const BYTES: Record<Precision, number> = { float32: 4, float16: 2, bfloat16: 2 };
const F32 = 4;
/** Memory an arena holds per byte its session uses at its peak. */
export const ARENA_GROWTH = 2;
/**
 * The runtime's own memory per device slot beside the arenas: on a GPU the CUDA context and the
 * cuDNN/cuBLAS workspaces; on a CPU the process (Node.js, onnxruntime, the sessions' bookkeeping).
 */
export const RUNTIME_OVERHEAD_BYTES = { gpu: 1.5 * 2 ** 30, cpu: 0.25 * 2 ** 30 };

export function stageActivations(stage: GraphName, dims: ModelDimensions, q: MemoryQuery, device: "cpu" | "gpu"): number {
  const e = BYTES[q.precision];
  const B = q.batch;
  const h = q.height / 16;
  const w = q.width / 16;
  switch (stage) {
    case "transformer": {
      const t = dims.transformer;
      const D = t.heads * t.head_dim;
      const N = t.text_length + h * w;
      const inputs = B * (h * w * t.channels * F32 * 2 + t.text_length * t.joint_dim * (F32 + e)) + 2 * N * t.head_dim * F32;
      return inputs + B * N * e * (8 * D + 4 * t.mlp_hidden);
    }
    case "vae_decoder": {
      const channels = [...dims.vae_decoder.block_out_channels].reverse();
      // Resolution levels of the up blocks: 2h x 2w after the unpatchify, doubling per block.
      let peak = 0;
      let cin = channels[0];
      channels.forEach((cout, level) => {
        const pixels = B * (2 * h) * (2 * w) * 4 ** level;
        const resnet = pixels * (cin * e + 2 * F32 * cin + cout * e);
        const upsample = level > 0 ? (pixels / 4) * cin * e + 2 * pixels * cin * e : 0;
        peak = Math.max(peak, resnet, upsample);
        cin = cout;
      });
      const tokens = 4 * h * w;
      const mid = B * tokens * channels[0] * (5 * e + 2 * F32);
      return Math.max(peak, mid) + B * 3 * q.height * q.width * F32;
    }
    case "text_encoder": {
      const t = dims.text_encoder;
      const scores = device === "cpu" ? t.heads * t.length * t.length * F32 : 0;
      return t.length * e * (8 * t.hidden + 3 * t.intermediate) + t.length * t.length * (e + 1) + scores + t.length * 3 * t.hidden * F32;
    }
    case "clip_vision":
    case "clip_text": {
      const t = dims[stage];
      const rows = stage === "clip_vision" ? B : 1;
      const scores = stage === "clip_text" && device === "cpu" ? t.heads * t.tokens * t.tokens * F32 : 0;
      const tower = rows * (t.tokens * e * (6 * t.hidden + 2 * t.intermediate) + scores);
      if (stage === "clip_text") return tower;
      // the preprocessing's horizontal pass: each of 224 output columns gathers its taps (about
      // 2 x width / 224 + 1 of them) in float64, for every row of the uint8 image
      const taps = 2 * Math.ceil((2 * Math.max(q.width, 224)) / 224) + 1;
      return Math.max(tower, B * 3 * q.height * 224 * taps * 8 * 2) + B * 3 * q.height * q.width;
    }
  }
}

/**
 * `rewardWeights`: the weights of reward models loaded beside the stages (rewardWeightBytes); their
 * activations (one 224-384 px tower per row, tens of MB) are left out.
 */
export function estimateMemory(dims: ModelDimensions, weightBytes: Record<GraphName, number>, q: MemoryQuery, device: "cpu" | "gpu", rewardWeights = 0): MemoryEstimate {
  const stages = Object.keys(weightBytes) as GraphName[];
  const activations = Object.fromEntries(stages.map((s) => [s, stageActivations(s, dims, q, device)])) as Record<GraphName, number>;
  const weights = stages.reduce((n, s) => n + weightBytes[s], rewardWeights);
  const batch = Math.max(activations.transformer, activations.vae_decoder, activations.clip_vision);
  const total = weights + ARENA_GROWTH * (activations.text_encoder + activations.clip_text + batch) + RUNTIME_OVERHEAD_BYTES[device];
  return { weights, rewardWeights, activations, total };
}

/**
 * A reward model's weights as its sessions hold them in `precision`: its checkpoint's bytes scaled
 * from the checkpoint's dtype to the compute type (its graphs read every tensor once, in that type).
 */
export function rewardWeightBytes(manifest: RewardManifest, precision: Precision): number {
  const checkpoint = manifest.files.filter((f) => f.path.startsWith("weights/") && f.path.endsWith(".safetensors")).reduce((n, f) => n + f.bytes, 0);
  return (checkpoint * BYTES[precision]) / BYTES[manifest.weights_dtype];
}

/** The largest max_batch (up to `limit`) whose estimate, times `slots` sessions, fits in `budget` bytes; 0 if none. */
export function largestFittingBatch(
  dims: ModelDimensions,
  weightBytes: Record<GraphName, number>,
  q: Omit<MemoryQuery, "batch">,
  device: "cpu" | "gpu",
  slots: number,
  budget: number,
  rewardWeights = 0,
  limit = 64,
): number {
  let best = 0;
  for (let batch = 1; batch <= limit; batch++) {
    if (slots * estimateMemory(dims, weightBytes, { ...q, batch }, device, rewardWeights).total > budget) break;
    best = batch;
  }
  return best;
}

export const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GB`;
