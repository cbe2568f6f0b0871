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
import { axisTaps, clipResizeGeometry, type AxisTaps } from "../../models/pickscore/clip-resize.js";

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

  const { outH, outW, top, left } = clipResizeGeometry(height, width, cfg);
  const resized = resizeBicubicAntialiasUint8(chw, 3, height, width, outH, outW);
  const { height: ch, width: cw } = cfg.cropSize;

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
