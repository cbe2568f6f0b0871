/**
 * The resize and crop geometry of CLIP's preprocessing (transformers 5's CLIPImageProcessor, torchvision
 * backend): torch's antialiased bicubic taps with their int16 fixed-point weights, and where the centre
 * crop falls. Pure: the host preprocessing (evaluators/flux2-pickscore/clip-preprocess.ts) and the batch
 * graph's in-graph preprocessing (models/flux2/batch-graph.ts) compute from the same taps.
 */
import type { ClipPreprocessConfig } from "./clip-preprocessor-config.js";

/** Keys' cubic with a = -0.5, the filter torch uses for antialiased bicubic (Pillow's). */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** One axis' taps: output i reads `size[i]` inputs from `start[i]` with int16 weights `weights[i * taps + j]`. */
export interface AxisTaps {
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
export function axisTaps(inSize: number, outSize: number): AxisTaps {
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

/**
 * The resized size (shortest edge to `size`; get_resize_output_image_size(default_to_square=False)
 * truncates the long edge) and the crop's offsets (negative: torchvision pads with zeros,
 * floor((crop - size) / 2) before).
 */
export function clipResizeGeometry(height: number, width: number, cfg: ClipPreprocessConfig): { outH: number; outW: number; top: number; left: number } {
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  const newLong = Math.trunc((cfg.size * long) / short);
  const [outH, outW] = width <= height ? [newLong, cfg.size] : [cfg.size, newLong];
  const { height: ch, width: cw } = cfg.cropSize;
  const top = ch > outH ? -Math.floor((ch - outH) / 2) : Math.trunc((outH - ch) / 2);
  const left = cw > outW ? -Math.floor((cw - outW) / 2) : Math.trunc((outW - cw) / 2);
  return { outH, outW, top, left };
}
