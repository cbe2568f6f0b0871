/**
 * ImageReward's image transform (torchvision v1 on the PIL image): Resize(224, BICUBIC) through
 * Pillow's own resampling, CenterCrop(224), ToTensor, Normalize(CLIP mean, std).
 *
 * Pillow's resize is written out here rather than taken from an image library because the golden
 * pixel values are Pillow's exact output: its bicubic (a = -0.5) coefficients are computed in
 * double, widened by the downscale factor, quantised to 22-bit fixed point, and applied in two
 * passes (horizontal, then vertical) with a uint8 image between them (src/libImaging/Resample.c).
 */

import { IMAGE_REWARD_PIXEL_MEAN, IMAGE_REWARD_PIXEL_STD } from "../../models/imagereward/imagereward-config.js";

const PRECISION_BITS = 22;
const BICUBIC_SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Per output position: the first input index and the fixed-point weights of the inputs it reads. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  ksize: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for a full-extent box [0, inSize]. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      k[x] = bicubic((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? w * (1 << PRECISION_BITS) - 0.5 : w * (1 << PRECISION_BITS) + 0.5);
    }
    start[xx] = xmin;
    count[xx] = n;
  }
  return { start, count, weights, ksize };
}

/** Pillow's clip8: the accumulator shifted down (arithmetic, so it floors) and clamped to a byte. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * One resampling pass along an axis of an interleaved uint8 image: `stride` steps between
 * neighbours along the axis, `lines` x `lineStep` walks the other axis, `pixel` channels.
 */
function pass(
  src: Uint8Array,
  dst: Uint8Array,
  t: Taps,
  outSize: number,
  lines: number,
  srcStride: number,
  srcLineStep: number,
  dstStride: number,
  dstLineStep: number,
): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outSize; o++) {
      const w0 = o * t.ksize;
      const base = line * srcLineStep + t.start[o] * srcStride;
      // the sums stay within 2^31 (Pillow keeps 2 bits of headroom), so doubles hold them exactly
      let r = half;
      let g = half;
      let bl = half;
      const n = t.count[o];
      for (let i = 0, at = base; i < n; i++, at += srcStride) {
        const w = t.weights[w0 + i];
        r += src[at] * w;
        g += src[at + 1] * w;
        bl += src[at + 2] * w;
      }
      const out = line * dstLineStep + o * dstStride;
      dst[out] = clip8(r);
      dst[out + 1] = clip8(g);
      dst[out + 2] = clip8(bl);
    }
  }
}

/** PIL's image.resize((outW, outH), Image.BICUBIC) of an RGB image (HWC uint8). */
export function pillowResizeBicubic(rgb: Uint8Array, height: number, width: number, outH: number, outW: number): Uint8Array {
  if (rgb.length !== height * width * 3) throw new RangeError(`image has ${rgb.length} bytes, expected ${height}x${width}x3`);
  if (outH === height && outW === width) return rgb.slice();
  const vertical = taps(height, outH);
  // The horizontal pass runs only over the rows the vertical pass reads.
  const first = vertical.start[0];
  const last = vertical.start[outH - 1] + vertical.count[outH - 1];
  let rows = rgb.subarray(first * width * 3, last * width * 3);
  let rowsWidth = width;
  if (outW !== width) {
    const horizontal = taps(width, outW);
    const tmp = new Uint8Array((last - first) * outW * 3);
    pass(rows, tmp, horizontal, outW, last - first, 3, width * 3, 3, outW * 3);
    rows = tmp;
    rowsWidth = outW;
  }
  if (outH === height) return rows.slice();
  const shifted: Taps = { ...vertical, start: vertical.start.map((s) => s - first) };
  const out = new Uint8Array(outH * rowsWidth * 3);
  pass(rows, out, shifted, outH, rowsWidth, rowsWidth * 3, 3, rowsWidth * 3, 3);
  return out;
}

/** torchvision's Resize(size) output size: the short side becomes `size`, the long side int(size * long / short). */
export function shortSideSize(height: number, width: number, size: number): { height: number; width: number } {
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  const newLong = Math.trunc((size * long) / short);
  return height <= width ? { height: size, width: newLong } : { height: newLong, width: size };
}

/** Python's round(): half to even, as torchvision's CenterCrop rounds its offsets. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * An RGB image (HWC uint8) -> ImageReward's pixel_values, float32 [3, size, size] (CHW):
 * ToTensor's float32(u8) / 255, then (x - mean) / std, each step rounded to float32 as torch does.
 */
export function imageRewardPixelValues(
  rgb: Uint8Array,
  height: number,
  width: number,
  size = 224,
  mean: readonly number[] = IMAGE_REWARD_PIXEL_MEAN,
  std: readonly number[] = IMAGE_REWARD_PIXEL_STD,
): Float32Array {
  if (!(height >= 1 && width >= 1)) throw new RangeError(`image of ${height}x${width} pixels: expected at least 1x1`);
  const resized = shortSideSize(height, width, size);
  // torchvision returns the image itself when the size is unchanged
  const image = pillowResizeBicubic(rgb, height, width, resized.height, resized.width);
  const top = roundHalfEven((resized.height - size) / 2);
  const left = roundHalfEven((resized.width - size) / 2);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let y = 0; y < size; y++) {
      const row = ((top + y) * resized.width + left) * 3 + c;
      for (let x = 0; x < size; x++) {
        // a division of two float32 values in double, rounded once, is the float32 division
        const unit = Math.fround(image[row + x * 3] / 255);
        out[c * plane + y * size + x] = Math.fround(Math.fround(unit - m) / s);
      }
    }
  }
  return out;
}
