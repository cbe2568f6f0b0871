/**
 * The FLUX.2 VAE decode of DiffSynth-Studio (Flux2VAE.decode, models/flux2_vae.py) as an ONNX graph:
 * batch-norm denormalisation of the patchified latents, unpatchify, post_quant_conv, then the
 * diffusers-style Decoder (conv_in, mid block with one single-head attention, up blocks of resnets
 * with nearest x2 upsampling, group norm, SiLU, conv_out) to an image in about [-1, 1].
 */
import { configFields } from "../config-fields.js";
import { float, type GraphBuilder } from "../onnx/graph-builder.js";
import { attention, linear, paramRoundedFloat32, silu, toCompute, toFloat32 } from "../onnx/layers.js";

export interface Flux2VaeConfig {
  /** encoder order; the decoder walks it reversed */
  blockOutChannels: number[];
  layersPerBlock: number;
  latentChannels: number;
  normNumGroups: number;
  usePostQuantConv: boolean;
  midBlockAddAttention: boolean;
}

/**
 * DiffSynth's decode adds a literal 1e-4 to running_var; it never reads config.batch_norm_eps
 * (diffusers' Flux2Pipeline does). The parser still checks that field is well-formed.
 */
const BN_EPS = 1e-4;
/** Every GroupNorm of the decoder (resnets, the attention's, conv_norm_out) is built with 1e-6. */
const GN_EPS = 1e-6;
const PATCH = 2;

export function parseFlux2VaeConfig(json: unknown, file: string): Flux2VaeConfig {
  const { c, fail, positiveInt, bool } = configFields(json, file);

  if (c._class_name !== "AutoencoderKLFlux2") fail("_class_name", '"AutoencoderKLFlux2"', c._class_name);
  const channels = c.block_out_channels;
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((n) => Number.isInteger(n) && n > 0)) {
    fail("block_out_channels", "a non-empty array of positive integers", channels);
  }
  const blockOutChannels = channels as number[];
  const normNumGroups = positiveInt("norm_num_groups");
  if (!blockOutChannels.every((n) => n % normNumGroups === 0)) {
    fail("block_out_channels", `multiples of norm_num_groups (${normNumGroups})`, channels);
  }
  // The decoder builds one UpDecoderBlock2D per entry, upsampling in all but the last.
  const upBlocks = c.up_block_types;
  if (!Array.isArray(upBlocks) || upBlocks.length !== blockOutChannels.length || !upBlocks.every((t) => t === "UpDecoderBlock2D")) {
    fail("up_block_types", `${blockOutChannels.length} x "UpDecoderBlock2D" (one per block_out_channels entry)`, upBlocks);
  }
  const patch = c.patch_size;
  if (!Array.isArray(patch) || patch.length !== 2 || patch[0] !== PATCH || patch[1] !== PATCH) {
    fail("patch_size", "[2, 2] (the decode unpatchifies 2x2)", patch);
  }
  if (c.act_fn !== undefined && c.act_fn !== "silu") fail("act_fn", '"silu"', c.act_fn);
  if (c.out_channels !== undefined && c.out_channels !== 3) fail("out_channels", "3 (RGB)", c.out_channels);
  const eps = c.batch_norm_eps;
  if (typeof eps !== "number" || !(eps > 0)) fail("batch_norm_eps", "a positive number", eps);
  return {
    blockOutChannels,
    layersPerBlock: positiveInt("layers_per_block"),
    latentChannels: positiveInt("latent_channels"),
    normNumGroups,
    usePostQuantConv: bool("use_post_quant_conv"),
    midBlockAddAttention: bool("mid_block_add_attention"),
  };
}

/**
 * Input `latents` float32 [B, 4*latent_channels, h, w] (the pipeline's latents before the
 * batch-norm denormalisation); output `image` float32 [B, 3, H, W] with H = h * 2^(blocks) (16h for
 * FLUX.2's four blocks). Computes in b.compute, except (in float16/bfloat16):
 * - the batch-norm denormalisation and the unpatchify, in float32 on the float32 input, then one
 *   cast (the reference does them in its dtype on latents already in it; DepthToSpace has no
 *   bfloat16 CUDA kernel);
 * - every GroupNorm, in float32 with the affine weights rounded to the compute type, one rounding
 *   at the end: what torch's reduced-precision group_norm kernels compute;
 * The convolutions run in the compute type (ONNX Conv has bfloat16 from opset 22), the nearest
 * upsampling as a broadcast (exact in any type; Resize has no bfloat16 CUDA kernel).
 */
export function buildVaeDecoderGraph(b: GraphBuilder, cfg: Flux2VaeConfig): void {
  const patched = cfg.latentChannels * PATCH * PATCH;
  const latents = b.input("latents", "float32", ["batch", patched, "latent_height", "latent_width"]);

  const perChannel = [1, patched, 1, 1];
  const mean = b.op("Reshape", [b.paramFloat32("bn.running_mean", [patched]), b.int64s(perChannel)]);
  const variance = b.op("Reshape", [b.paramFloat32("bn.running_var", [patched]), b.int64s(perChannel)]);
  const std = b.op("Sqrt", [b.op("Add", [variance, b.constant([BN_EPS], [])])]);
  let z = b.op("Add", [b.op("Mul", [latents, std]), mean]);
  // "B (C P Q) H W -> B C (H P) (W Q)" is DepthToSpace in CRD order.
  z = toCompute(b, b.op("DepthToSpace", [z], { blocksize: PATCH, mode: "CRD" }));
  if (cfg.usePostQuantConv) z = conv(b, z, "post_quant_conv", cfg.latentChannels, cfg.latentChannels, 1);

  const top = cfg.blockOutChannels[cfg.blockOutChannels.length - 1];
  let x = conv(b, z, "decoder.conv_in", cfg.latentChannels, top, 3);
  x = resnet(b, x, "decoder.mid_block.resnets.0", top, top, cfg.normNumGroups);
  if (cfg.midBlockAddAttention) x = midAttention(b, x, "decoder.mid_block.attentions.0", top, cfg.normNumGroups);
  x = resnet(b, x, "decoder.mid_block.resnets.1", top, top, cfg.normNumGroups);

  const reversed = [...cfg.blockOutChannels].reverse();
  let channels = top;
  reversed.forEach((out, i) => {
    const prefix = `decoder.up_blocks.${i}`;
    for (let j = 0; j <= cfg.layersPerBlock; j++) {
      x = resnet(b, x, `${prefix}.resnets.${j}`, channels, out, cfg.normNumGroups);
      channels = out;
    }
    if (i < reversed.length - 1) x = conv(b, upsampleNearest2x(b, x), `${prefix}.upsamplers.0.conv`, out, out, 3);
  });

  x = silu(b, groupNorm(b, x, "decoder.conv_norm_out", channels, cfg.normNumGroups));
  x = toFloat32(b, conv(b, x, "decoder.conv_out", channels, 3, 3));
  b.output(x, "image", "float32", ["batch", 3, "image_height", "image_width"]);
}

/** nn.Conv2d with bias, stride 1, "same" padding (kernel 1 or 3), in the compute type (bfloat16 Conv from opset 22). */
function conv(b: GraphBuilder, x: string, name: string, cin: number, cout: number, k: number): string {
  const pad = (k - 1) / 2;
  const w = b.param(`${name}.weight`, [cout, cin, k, k]);
  return b.op("Conv", [x, w, b.param(`${name}.bias`, [cout])], { kernel_shape: [k, k], pads: [pad, pad, pad, pad] });
}

/**
 * Nearest 2x upsampling as a broadcast, (B, C, H, W) -> (B, C, 2H, 2W): exact in any type, where
 * Resize has no bfloat16 CUDA kernel and would need a float32 round trip.
 */
function upsampleNearest2x(b: GraphBuilder, x: string): string {
  const shape = b.op("Shape", [x]);
  const grid = b.op("Unsqueeze", [x, b.int64s([3, 5])]);
  const copies = b.op("Expand", [grid, b.int64s([1, 1, 1, 2, 1, 2])]);
  const twice = b.op("Mul", [b.op("Slice", [shape, b.int64s([2]), b.int64s([4])]), b.int64s([2, 2])]);
  return b.op("Reshape", [copies, b.op("Concat", [b.op("Slice", [shape, b.int64s([0]), b.int64s([2])]), twice], { axis: 0 })]);
}

/**
 * nn.GroupNorm: statistics per (sample, group) via InstanceNormalization on [B, G, C/G*H*W]; in
 * float32 (weights rounded to the compute type) when the compute type is another, one rounding at
 * the end, as torch's group_norm kernels accumulate and apply the affine in float32.
 */
function groupNorm(b: GraphBuilder, x: string, name: string, channels: number, groups: number): string {
  const x32 = toFloat32(b, x);
  const grouped = b.op("Reshape", [x32, b.int64s([0, groups, -1])]);
  const ones = b.constant(new Array(groups).fill(1), [groups]);
  const zeros = b.constant(new Array(groups).fill(0), [groups]);
  const normed = b.op("InstanceNormalization", [grouped, ones, zeros], { epsilon: float(GN_EPS) });
  const restored = b.op("Reshape", [normed, b.op("Shape", [x32])]);
  const perChannel = b.int64s([channels, 1, 1]);
  const weight = b.op("Reshape", [paramRoundedFloat32(b, `${name}.weight`, [channels]), perChannel]);
  const bias = b.op("Reshape", [paramRoundedFloat32(b, `${name}.bias`, [channels]), perChannel]);
  return toCompute(b, b.op("Add", [b.op("Mul", [restored, weight]), bias]));
}

/** ResnetBlock2D without time embedding; a 1x1 conv_shortcut when the channel count changes. */
function resnet(b: GraphBuilder, x: string, name: string, cin: number, cout: number, groups: number): string {
  let h = silu(b, groupNorm(b, x, `${name}.norm1`, cin, groups));
  h = conv(b, h, `${name}.conv1`, cin, cout, 3);
  h = silu(b, groupNorm(b, h, `${name}.norm2`, cout, groups));
  h = conv(b, h, `${name}.conv2`, cout, cout, 3);
  const shortcut = cin === cout ? x : conv(b, x, `${name}.conv_shortcut`, cin, cout, 1);
  return b.op("Add", [shortcut, h]);
}

/**
 * The mid block's Attention: one head over all pixels (head dim = channels), residual added. With
 * 512 channels (FLUX.2's VAE) the head is too wide for flash attention; the CUDA provider's
 * memory-efficient kernel takes it, so the h*w x h*w scores are never materialised.
 */
function midAttention(b: GraphBuilder, x: string, name: string, channels: number, groups: number): string {
  const normed = groupNorm(b, x, `${name}.group_norm`, channels, groups);
  const tokens = b.op("Transpose", [b.op("Reshape", [normed, b.int64s([0, channels, -1])])], { perm: [0, 2, 1] });
  const shape: [number, number] = [channels, channels];
  const proj = (p: string) => linear(b, tokens, `${name}.${p}.weight`, `${name}.${p}.bias`, shape);
  const attended = attention(b, proj("to_q"), proj("to_k"), proj("to_v"), 1);
  const out = linear(b, attended, `${name}.to_out.0.weight`, `${name}.to_out.0.bias`, shape);
  const spatial = b.op("Reshape", [b.op("Transpose", [out], { perm: [0, 2, 1] }), b.op("Shape", [x])]);
  return b.op("Add", [spatial, x]);
}
