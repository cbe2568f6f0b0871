/**
 * CLIP's image preprocessing as graph nodes, bit for bit what the host version computes
 * (evaluators/flux2-pickscore/clip-preprocess.ts): torch's antialiased bicubic resize of the uint8
 * image with its int16 fixed-point weights (clip-resize.ts), each pass an integer accumulation
 * `(half + sum(pixel x weight)) >> precision` clamped to uint8, then the centre crop and
 * `(x - mean * 255) / (std * 255)` in float32.
 *
 * The accumulations run in float64: every product (at most 255 x 32767) and every sum is an integer
 * below 2^53, so float64 holds them exactly in any order; float32 could not, and onnxruntime's CUDA
 * provider has no integer MatMul or Clip for int32. Each output pixel gathers its taps (a band, not
 * a dense matrix: 21 taps instead of 1024 columns at 1024 -> 224).
 */
import type { GraphBuilder } from "../onnx/graph-builder.js";
import type { ClipPreprocessConfig } from "./clip-preprocessor-config.js";
import { axisTaps, clipResizeGeometry, type AxisTaps } from "./clip-resize.js";

/** (B, 3, height, width) uint8 -> (B, 3, crop_height, crop_width) float32 pixel values. */
export function clipPreprocess(b: GraphBuilder, image: string, height: number, width: number, cfg: ClipPreprocessConfig): string {
  const { outH, outW, top, left } = clipResizeGeometry(height, width, cfg);
  let x = b.cast(image, "float64");
  // horizontal pass first, then vertical, a uint8-valued intermediate between them, as torch does
  if (outW !== width) x = resamplePass(b, x, axisTaps(width, outW), 3);
  if (outH !== height) x = resamplePass(b, x, axisTaps(height, outH), 2);
  const { height: ch, width: cw } = cfg.cropSize;
  x = centreCrop(b, x, { outH, outW, top, left, ch, cw });
  const scale = Math.fround(1 / cfg.rescaleFactor);
  const perChannel = (values: readonly number[]) => b.constant(values.map((v) => Math.fround(Math.fround(v) * scale)), [1, 3, 1, 1]);
  return b.op("Div", [b.op("Sub", [b.cast(x, "float32"), perChannel(cfg.mean)]), perChannel(cfg.std)]);
}

/** One separable pass along `axis` (2: rows, 3: columns) of a (B, 3, H, W) float64 tensor of integers. */
function resamplePass(b: GraphBuilder, x: string, t: AxisTaps, axis: 2 | 3): string {
  const outSize = t.start.length;
  const index: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < outSize; i++) {
    for (let j = 0; j < t.taps; j++) {
      // taps past this output's window read its first input with weight 0
      const inside = j < t.size[i];
      index.push(t.start[i] + (inside ? j : 0));
      weight.push(inside ? t.weights[i * t.taps + j] : 0);
    }
  }
  const gathered = b.op("Gather", [x, b.constant(index, [outSize, t.taps], "int64")], { axis });
  // axis 3: (B, 3, H, out, taps); axis 2: (B, 3, out, taps, W)
  const weights = b.constant(weight, axis === 3 ? [outSize, t.taps] : [outSize, t.taps, 1], "float64");
  const acc = b.op("ReduceSum", [b.op("Mul", [gathered, weights]), b.int64s([axis + 1])], { keepdims: 0 });
  const rounded = b.op("Add", [acc, b.constant([2 ** (t.precision - 1)], [], "float64")]);
  // an arithmetic shift is a floor division by 2^precision (exact in float64)
  const shifted = b.op("Floor", [b.op("Div", [rounded, b.constant([2 ** t.precision], [], "float64")])]);
  return b.op("Clip", [shifted, b.constant([0], [], "float64"), b.constant([255], [], "float64")]);
}

interface Crop {
  outH: number;
  outW: number;
  top: number;
  left: number;
  ch: number;
  cw: number;
}

/** The centre crop; zeros where the crop reaches past the image (negative offsets). */
function centreCrop(b: GraphBuilder, x: string, c: Crop): string {
  const pad = [Math.max(0, -c.top), Math.max(0, -c.left)];
  const padded = pad[0] || pad[1]
    ? b.op("Pad", [x, b.int64s([0, 0, pad[0], pad[1], 0, 0, Math.max(0, c.ch - c.outH - pad[0]), Math.max(0, c.cw - c.outW - pad[1])])])
    : x;
  const top = Math.max(0, c.top);
  const left = Math.max(0, c.left);
  return b.op("Slice", [padded, b.int64s([top, left]), b.int64s([top + c.ch, left + c.cw]), b.int64s([2, 3])]);
}
