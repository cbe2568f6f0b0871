/**
 * Thumbnails for the report's gallery: a PNG decoded (fast-png), shrunk by area averaging to at
 * most `maxSide` pixels on its long side, and encoded as a JPEG (jpeg-js, pure JavaScript): a
 * photo-like thumbnail is several times smaller than as a PNG. The resize is an exact box filter
 * (every source pixel weighs by the area of it a thumbnail pixel covers, fractional at the edges),
 * with colour weighted by alpha where there is one. A thumbnail has a byte limit, so a report's
 * page stays small whatever the images hold. The full-size images stay lossless PNGs.
 */
import { convertIndexedToRgb, decode, type DecodedPng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";

export const THUMBNAIL_SIDE = 192;

/** 8 bits a sample, `channels` samples a pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), rows top down. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface Thumbnail {
  jpeg: Uint8Array;
  width: number;
  height: number;
  /** of the full-size image */
  sourceWidth: number;
  sourceHeight: number;
  /** the JPEG quality it was encoded at (lower where the thumbnail had to fit its byte limit) */
  quality: number;
}

/** The size of an image of width x height shrunk to at most maxSide on its long side (never grown). */
export function thumbnailSize(width: number, height: number, maxSide = THUMBNAIL_SIDE): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= maxSide) return { width, height };
  const scale = maxSide / long;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A decoded PNG as 8-bit samples: palettes expanded, 16-bit samples rounded to 8. */
export function toRaster8(png: DecodedPng): Raster {
  const { width, height } = png;
  if (png.palette) {
    const data = convertIndexedToRgb(png);
    return { width, height, channels: data.length / (width * height), data };
  }
  let data: Uint8Array;
  if (png.depth === 16) {
    data = new Uint8Array(png.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.round(png.data[i] / 257);
  } else if (png.depth === 8) {
    data = png.data instanceof Uint8Array ? png.data : Uint8Array.from(png.data);
  } else {
    // 1, 2 and 4-bit grey: fast-png leaves the samples at their own depth
    const max = 2 ** png.depth - 1;
    data = new Uint8Array(png.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.round((png.data[i] * 255) / max);
  }
  return { width, height, channels: png.channels, data };
}

interface Span { start: number; weights: number[] }

/**
 * For each of `dst` pixels along an axis of `src` pixels (dst <= src): the source pixels it covers
 * and how much of each, in units of 1/dst of a source pixel, so the weights of a span are integers
 * that sum to `src`.
 */
function spans(src: number, dst: number): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < dst; i++) {
    const lo = i * src;
    const hi = (i + 1) * src;
    const first = Math.floor(lo / dst);
    const last = Math.ceil(hi / dst) - 1;
    const weights: number[] = [];
    for (let j = first; j <= last; j++) weights.push(Math.min(hi, (j + 1) * dst) - Math.max(lo, j * dst));
    out.push({ start: first, weights });
  }
  return out;
}

/** Area-average resize to width x height (each no larger than the source's). */
export function resizeArea(src: Raster, width: number, height: number): Raster {
  const { channels: c, data } = src;
  if (width > src.width || height > src.height || width < 1 || height < 1) {
    throw new Error(`resizeArea shrinks only: ${src.width}x${src.height} -> ${width}x${height}`);
  }
  const alpha = c === 2 || c === 4 ? c - 1 : -1;
  const xs = spans(src.width, width);
  const ys = spans(src.height, height);
  // Horizontal pass into floats (colour premultiplied by alpha), then vertical; one rounding at the end.
  const rows = new Float64Array(width * src.height * c);
  for (let y = 0; y < src.height; y++) {
    const rowIn = y * src.width * c;
    const rowOut = y * width * c;
    for (let x = 0; x < width; x++) {
      const { start, weights } = xs[x];
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let j = 0; j < weights.length; j++) {
          const p = rowIn + (start + j) * c;
          sum += weights[j] * (alpha >= 0 && k !== alpha ? data[p + k] * data[p + alpha] : data[p + k]);
        }
        rows[rowOut + x * c + k] = sum / src.width;
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  const px = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    const { start, weights } = ys[y];
    for (let x = 0; x < width; x++) {
      px.fill(0);
      for (let j = 0; j < weights.length; j++) {
        const p = ((start + j) * width + x) * c;
        for (let k = 0; k < c; k++) px[k] += weights[j] * rows[p + k];
      }
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) px[k] /= src.height;
      for (let k = 0; k < c; k++) {
        let v = px[k];
        if (alpha >= 0 && k !== alpha) v = px[alpha] > 0 ? v / px[alpha] : 0;
        out[o + k] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return { width, height, channels: c, data: out };
}

/**
 * A raster as the RGBA samples jpeg-js takes: grey spread to RGB, and transparency composited over
 * white (the page's background; a JPEG has no alpha).
 */
export function toRgbaOverWhite(r: Raster): Uint8Array {
  const { width, height, channels: c, data } = r;
  const out = new Uint8Array(width * height * 4);
  for (let i = 0, o = 0; i < data.length; i += c, o += 4) {
    const grey = c <= 2;
    const a = c === 2 || c === 4 ? data[i + c - 1] / 255 : 1;
    for (let k = 0; k < 3; k++) {
      const v = data[i + (grey ? 0 : k)];
      out[o + k] = Math.round(v * a + 255 * (1 - a));
    }
    out[o + 3] = 255;
  }
  return out;
}

export function encodeJpegThumbnail(r: Raster, quality: number): Uint8Array {
  return encodeJpeg({ width: r.width, height: r.height, data: toRgbaOverWhite(r) }, quality).data;
}

/** JPEG qualities tried in turn until a thumbnail fits its byte limit. */
export const THUMBNAIL_QUALITIES = [80, 65, 50, 30];

/** A thumbnail's JPEG bytes at most (20 prompts x 4 seeds x 7 images x 4/3 for base64: under 4 MB). */
export const THUMBNAIL_MAX_BYTES = 20_000;

export interface ThumbnailOptions {
  /** long side, pixels (default 192) */
  maxSide?: number;
  /** JPEG bytes at most (default THUMBNAIL_MAX_BYTES) */
  maxBytes?: number;
}

/**
 * A PNG file's bytes -> its thumbnail, as JPEG bytes, no larger than maxBytes: the image shrunk to
 * maxSide at quality 80 if that fits, else at lower qualities, else smaller. Throws on what is not a PNG.
 */
export function jpegThumbnail(bytes: Uint8Array, opts: ThumbnailOptions = {}): Thumbnail {
  const maxBytes = opts.maxBytes ?? THUMBNAIL_MAX_BYTES;
  const raster = toRaster8(decode(bytes));
  let side = opts.maxSide ?? THUMBNAIL_SIDE;
  for (;;) {
    const size = thumbnailSize(raster.width, raster.height, side);
    const small = size.width === raster.width && size.height === raster.height ? raster : resizeArea(raster, size.width, size.height);
    for (const quality of THUMBNAIL_QUALITIES) {
      const jpeg = encodeJpegThumbnail(small, quality);
      if (jpeg.length <= maxBytes || (quality === THUMBNAIL_QUALITIES[THUMBNAIL_QUALITIES.length - 1] && side <= 16)) {
        return { jpeg, width: small.width, height: small.height, sourceWidth: raster.width, sourceHeight: raster.height, quality };
      }
    }
    side = Math.max(16, Math.floor((Math.max(small.width, small.height) * 3) / 4));
  }
}
