/**
 * CLIP image preprocessing as transformers 5's CLIPImageProcessor does it with its default torchvision
 * backend, on the HWC uint8 image the pipeline returns:
 *   1. resize the shortest edge to `size` (long edge int(size * long / short)) with torch's antialiased
 *      bicubic resize of the uint8 tensor, uint8 out;
 *   2. centre crop (offsets int((h - crop_h) / 2), zero padding where the crop is larger);
 *   3. rescale and normalise fused into one step: (x - mean * 255) / (std * 255), in float32, with
 *      mean * 255 and std * 255 themselves rounded to float32.
 */
import type { ClipPreprocessConfig } from "../../models/pickscore/clip-preprocessor-config.js";

/** Keys' cubic with a = -0.5, the filter torch uses for antialiased bicubic (Pillow's). */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** One axis' taps: output i reads `size[i]` inputs from `start[i]` with int16 weights `weights[i * taps + j]`. */
interface AxisTaps {
  start: Int32Array;
  size: Int32Array;
  taps: number;
  weights: Int16Array;
  /** Fixed-point bits of the weights. */
  precision: number;
}

/**
 * torch's _compute_index_ranges_int16_weights for antialiased bicubic: float64 weights normalised to
 * sum 1, then scaled by 2^precision, the largest precision that keeps the biggest weight in int16.
 */
function axisTaps(inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const taps = Math.ceil(support) * 2 + 1;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const w = new Float64Array(outSize * taps);
  let wMax = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), taps);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const v = cubic((j + xmin - center + 0.5) * invScale);
      w[i * taps + j] = v;
      total += v;
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) {
        w[i * taps + j] /= total;
        wMax = Math.max(wMax, w[i * taps + j]);
      }
    }
    start[i] = xmin;
    size[i] = xsize;
  }
  let precision = 0;
  while (precision < 22 && Math.trunc(0.5 + wMax * 2 ** (precision + 1)) < 1 << 15) precision++;
  const weights = new Int16Array(outSize * taps);
  for (let k = 0; k < w.length; k++) {
    const v = w[k] * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { start, size, taps, weights, precision };
}

/** One separable pass along an axis of `lines` lines, `step` apart in memory; uint8 in, uint8 out. */
function resamplePass(
  src: Uint8Array,
  dst: Uint8Array,
  t: AxisTaps,
  lines: number,
  lineOf: (line: number) => { src: number; dst: number },
  step: { src: number; dst: number },
): void {
  const half = 1 << (t.precision - 1);
  for (let line = 0; line < lines; line++) {
    const base = lineOf(line);
    for (let i = 0; i < t.start.length; i++) {
      let acc = half;
      const from = base.src + t.start[i] * step.src;
      for (let j = 0; j < t.size[i]; j++) acc += src[from + j * step.src] * t.weights[i * t.taps + j];
      // Arithmetic shift (floor) then clamp, as torch's uint8 kernels do.
      dst[base.dst + i * step.dst] = Math.min(Math.max(acc >> t.precision, 0), 255);
    }
  }
}

/**
 * torch.nn.functional.interpolate(x, (outH, outW), mode="bicubic", antialias=True) on a uint8 CHW tensor,
 * uint8 out. Hand-written because exactness needs torch's own uint8 kernel: int16 fixed-point weights,
 * integer accumulation, a uint8 intermediate between the horizontal pass (first) and the vertical one.
 * (Measured on the golden images: the same filter in float64, rounded once at the end, misses torch's
 * output by one or two levels on 10-22% of the values.)
 */
export function resizeBicubicAntialiasUint8(chw: Uint8Array, channels: number, inH: number, inW: number, outH: number, outW: number): Uint8Array {
  if (chw.length !== channels * inH * inW) throw new RangeError(`image has ${chw.length} values, expected ${channels}x${inH}x${inW}`);
  let cur = chw;
  if (outW !== inW) {
    const next = new Uint8Array(channels * inH * outW);
    resamplePass(cur, next, axisTaps(inW, outW), channels * inH, (l) => ({ src: l * inW, dst: l * outW }), { src: 1, dst: 1 });
    cur = next;
  }
  if (outH !== inH) {
    const next = new Uint8Array(channels * outH * outW);
    const lineOf = (l: number) => {
      const c = Math.floor(l / outW);
      const x = l % outW;
      return { src: c * inH * outW + x, dst: c * outH * outW + x };
    };
    resamplePass(cur, next, axisTaps(inH, outH), channels * outW, lineOf, { src: outW, dst: outW });
    cur = next;
  }
  return cur === chw ? chw.slice() : cur;
}

/** The CLIP pixel_values of one HWC uint8 RGB image: 3 x cropH x cropW float32, CHW. */
export function clipPixelValues(rgb: Uint8Array, height: number, width: number, cfg: ClipPreprocessConfig): Float32Array {
  if (rgb.length !== height * width * 3) throw new RangeError(`image has ${rgb.length} values, expected ${height}x${width}x3`);
  const plane = height * width;
  const chw = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = rgb[p * 3 + c];

  // get_resize_output_image_size(default_to_square=False): the long edge is truncated, not rounded.
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  const newLong = Math.trunc((cfg.size * long) / short);
  const [outH, outW] = width <= height ? [newLong, cfg.size] : [cfg.size, newLong];
  const resized = resizeBicubicAntialiasUint8(chw, 3, height, width, outH, outW);

  // Centre crop; where the crop is larger than the image torchvision pads with zeros, floor((crop - size) / 2) before.
  const { height: ch, width: cw } = cfg.cropSize;
  const top = ch > outH ? -Math.floor((ch - outH) / 2) : Math.trunc((outH - ch) / 2);
  const left = cw > outW ? -Math.floor((cw - outW) / 2) : Math.trunc((outW - cw) / 2);

  const out = new Float32Array(3 * ch * cw);
  const scale = Math.fround(1 / cfg.rescaleFactor);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(Math.fround(cfg.mean[c]) * scale);
    const std = Math.fround(Math.fround(cfg.std[c]) * scale);
    for (let y = 0; y < ch; y++) {
      const sy = y + top;
      for (let x = 0; x < cw; x++) {
        const sx = x + left;
        const v = sy >= 0 && sy < outH && sx >= 0 && sx < outW ? resized[c * outH * outW + sy * outW + sx] : 0;
        out[c * ch * cw + y * cw + x] = Math.fround(v - mean) / std;
      }
    }
  }
  return out;
}
