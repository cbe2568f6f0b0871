/**
 * Thumbnails for the report's gallery: a PNG decoded (fast-png), shrunk by area averaging to at
 * most `maxSide` pixels on its long side, and encoded again as an 8-bit PNG. Pure JavaScript, no
 * image library: the resize is an exact box filter (every source pixel weighs by the area of it a
 * thumbnail pixel covers, fractional at the edges), with colour weighted by alpha where there is one.
 * A thumbnail has a byte limit, so a report's page stays small whatever the images hold.
 */
import { constants, deflateSync } from "node:zlib";
import { convertIndexedToRgb, decode, type DecodedPng } from "fast-png";

export const THUMBNAIL_SIDE = 192;

/** 8 bits a sample, `channels` samples a pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), rows top down. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface Thumbnail {
  png: Uint8Array;
  width: number;
  height: number;
  /** of the full-size image */
  sourceWidth: number;
  sourceHeight: number;
  /** bits a sample kept (8, or fewer where the thumbnail had to fit its byte limit) */
  bits: number;
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

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let v = n;
    for (let k = 0; k < 8; k++) v = v & 1 ? 0xedb88320 ^ (v >>> 1) : v >>> 1;
    t[n] = v >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let v = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) v = CRC_TABLE[(v ^ bytes[i]) & 0xff] ^ (v >>> 8);
  return (v ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, "latin1");
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * An 8-bit PNG of a raster, each row filtered with whichever of the five PNG filters gives the
 * smallest sum of absolute differences (libpng's heuristic), deflated at level 6 for filtered
 * data (within 2% of level 9 at a tenth of the time). fast-png's encoder writes unfiltered rows,
 * which for photographs is about half as large again.
 */
export function encodePng(r: Raster): Uint8Array {
  const { width, height, channels: c, data } = r;
  const colourType = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as Record<number, number>)[c];
  if (colourType === undefined) throw new Error(`encodePng: ${c} channels`);
  const stride = width * c;
  const filtered = new Uint8Array((stride + 1) * height);
  const candidate = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? data.subarray((y - 1) * stride, y * stride) : null;
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < 5; f++) {
      const out = candidate[f];
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= c ? row[i - c] : 0;
        const b = up ? up[i] : 0;
        const cc = up && i >= c ? up[i - c] : 0;
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, cc);
        const v = (row[i] - pred) & 0xff;
        out[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) {
        bestCost = cost;
        best = f;
      }
    }
    filtered[y * (stride + 1)] = best;
    filtered.set(candidate[best], y * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, colourType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(filtered, { level: 6, strategy: constants.Z_FILTERED })),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * Samples rounded to `bits` bits (2^bits levels spread over 0..255, so black and white stay), alpha
 * kept. Fewer distinct values deflate smaller; at 6 bits the error is under 2.1 levels in 255.
 */
export function posterize(r: Raster, bits: number): Raster {
  if (bits >= 8) return r;
  const levels = 2 ** bits - 1;
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.round((Math.round((v * levels) / 255) * 255) / levels);
  const alpha = r.channels === 2 || r.channels === 4 ? r.channels - 1 : -1;
  const data = new Uint8Array(r.data.length);
  for (let i = 0; i < data.length; i++) data[i] = i % r.channels === alpha ? r.data[i] : table[r.data[i]];
  return { ...r, data };
}

/** A thumbnail's PNG bytes at most (20 prompts x 4 seeds x 3 images x 4/3 for base64: under 10 MB). */
export const THUMBNAIL_MAX_BYTES = 30_000;

export interface ThumbnailOptions {
  /** long side, pixels (default 192) */
  maxSide?: number;
  /** PNG bytes at most (default THUMBNAIL_MAX_BYTES) */
  maxBytes?: number;
}

/**
 * A PNG file's bytes -> its thumbnail, as PNG bytes, no larger than maxBytes: the image shrunk to
 * maxSide at 8 bits a sample if that fits, else with samples rounded to 7, 6 or 5 bits (detailed
 * images, whose texture hides the steps), else smaller. Throws on what is not a PNG.
 */
export function pngThumbnail(bytes: Uint8Array, opts: ThumbnailOptions = {}): Thumbnail {
  const maxBytes = opts.maxBytes ?? THUMBNAIL_MAX_BYTES;
  const raster = toRaster8(decode(bytes));
  let side = opts.maxSide ?? THUMBNAIL_SIDE;
  for (;;) {
    const size = thumbnailSize(raster.width, raster.height, side);
    const small = size.width === raster.width && size.height === raster.height ? raster : resizeArea(raster, size.width, size.height);
    for (const bits of [8, 7, 6, 5]) {
      const png = encodePng(posterize(small, bits));
      if (png.length <= maxBytes || (bits === 5 && side <= 16)) {
        return { png, width: small.width, height: small.height, sourceWidth: raster.width, sourceHeight: raster.height, bits };
      }
    }
    side = Math.max(16, Math.floor((Math.max(small.width, small.height) * 3) / 4));
  }
}
