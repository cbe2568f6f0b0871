/**
 * PyWavelets-compatible wavedec2/waverec2 (mode 'symmetric', axes (-2,-1)) in float32, bit for bit:
 * every product and sum is rounded to float32 in the order PyWavelets' C kernels use (checked
 * against pywt's own output, docs/reproducibility.md). Hand-written because no JS library matches
 * pywt to the bit.
 */
import { coefficientLength, filterBank, type FilterBank } from "./filter-bank.js";

const f32 = Math.fround;

/** A stack of 2-D arrays: `batch` row-major (rows x cols) planes, float32. */
export interface Planes {
  data: Float32Array;
  batch: number;
  rows: number;
  cols: number;
}

export interface DetailBands {
  cH: Planes;
  cV: Planes;
  cD: Planes;
}

/** wavedec2's result: the coarsest approximation and the details, coarsest first. */
export interface Decomposition {
  cA: Planes;
  details: DetailBands[];
}

type Axis = "rows" | "cols";

interface LineLayout {
  count: number;
  offset: (line: number, length: number) => number;
  stride: number;
}

function lines(p: { batch: number; rows: number; cols: number }, axis: Axis, length: number): LineLayout {
  if (axis === "cols") {
    return { count: p.batch * p.rows, offset: (line) => line * length, stride: 1 };
  }
  return {
    count: p.batch * p.cols,
    offset: (line, len) => Math.floor(line / p.cols) * len * p.cols + (line % p.cols),
    stride: p.cols,
  };
}

function emptyLike(p: Planes, axis: Axis, length: number): Planes {
  const rows = axis === "rows" ? length : p.rows;
  const cols = axis === "cols" ? length : p.cols;
  return { data: new Float32Array(p.batch * rows * cols), batch: p.batch, rows, cols };
}

/** One level of pywt's downsampling convolution with symmetric extension, float32. */
function forwardLine(
  x: Float32Array, xo: number, xs: number, N: number,
  f: Float32Array, out: Float32Array, oo: number, os: number,
): void {
  const L = f.length;
  if (N < L) throw new Error(`signal of length ${N} is shorter than the ${L}-tap filter; lower the level`);
  const M = coefficientLength(N, L);
  const at = (m: number) => x[xo + m * xs];
  for (let k = 0; k < M; k++) {
    const i = 2 * k + 1;
    let sum = 0;
    if (i < L) {
      // Left edge: in-signal terms first, then the mirrored ones, ascending j.
      for (let j = 0; j <= i; j++) sum = f32(sum + f32(f[j] * at(i - j)));
      for (let j = i + 1; j < L; j++) sum = f32(sum + f32(f[j] * at(j - i - 1)));
    } else if (i < N) {
      for (let j = 0; j < L; j++) sum = f32(sum + f32(f[j] * at(i - j)));
    } else {
      // Right edge: mirrored terms first (filter index i-N down to 0), then in-signal ones.
      for (let t = 0; t <= i - N; t++) sum = f32(sum + f32(f[i - N - t] * at(N - 1 - t)));
      for (let j = i - N + 1; j < L; j++) sum = f32(sum + f32(f[j] * at(i - j)));
    }
    out[oo + k * os] = sum;
  }
}

/** pywt's upsampling_convolution_valid_sf: adds the reconstruction of `c` into `out`. */
function inverseLine(
  c: Float32Array, co: number, cs: number, N: number,
  f: Float32Array, out: Float32Array, oo: number, os: number,
): void {
  const half = f.length / 2;
  for (let i = half - 1, o = 0; i < N; i++, o += 2) {
    let even = 0;
    let odd = 0;
    for (let j = 0; j < half; j++) {
      const v = c[co + (i - j) * cs];
      even = f32(even + f32(f[2 * j] * v));
      odd = f32(odd + f32(f[2 * j + 1] * v));
    }
    const e = oo + o * os;
    out[e] = f32(out[e] + even);
    out[e + os] = f32(out[e + os] + odd);
  }
}

function dwtAxis(x: Planes, axis: Axis, bank: FilterBank): [Planes, Planes] {
  const N = axis === "rows" ? x.rows : x.cols;
  const M = coefficientLength(N, bank.length);
  const a = emptyLike(x, axis, M);
  const d = emptyLike(x, axis, M);
  const src = lines(x, axis, N);
  const dst = lines(x, axis, M);
  for (let l = 0; l < src.count; l++) {
    const xo = src.offset(l, N);
    const oo = dst.offset(l, M);
    forwardLine(x.data, xo, src.stride, N, bank.decLo, a.data, oo, dst.stride);
    forwardLine(x.data, xo, src.stride, N, bank.decHi, d.data, oo, dst.stride);
  }
  return [a, d];
}

function idwtAxis(a: Planes, d: Planes, axis: Axis, bank: FilterBank): Planes {
  const N = axis === "rows" ? a.rows : a.cols;
  const R = 2 * N - bank.length + 2;
  const out = emptyLike(a, axis, R);
  const src = lines(a, axis, N);
  const dst = lines(a, axis, R);
  for (let l = 0; l < src.count; l++) {
    const co = src.offset(l, N);
    const oo = dst.offset(l, R);
    inverseLine(a.data, co, src.stride, N, bank.recLo, out.data, oo, dst.stride);
    inverseLine(d.data, co, src.stride, N, bank.recHi, out.data, oo, dst.stride);
  }
  return out;
}

/** pywt.dwt2 over the last two axes: axis -2 first, then -1. */
export function dwt2(x: Planes, wavelet: string): { cA: Planes } & DetailBands {
  const bank = filterBank(wavelet);
  const [a, d] = dwtAxis(x, "rows", bank);
  const [aa, ad] = dwtAxis(a, "cols", bank);
  const [da, dd] = dwtAxis(d, "cols", bank);
  return { cA: aa, cH: da, cV: ad, cD: dd };
}

/** pywt.idwt2: axis -1 first (cA with cV, cH with cD), then axis -2. */
export function idwt2(cA: Planes, bands: DetailBands, wavelet: string): Planes {
  const bank = filterBank(wavelet);
  if (bank.length === 2) return idwt2TwoTap(cA, bands, bank);
  const a = idwtAxis(cA, bands.cV, "cols", bank);
  const d = idwtAxis(bands.cH, bands.cD, "cols", bank);
  return idwtAxis(a, d, "rows", bank);
}

/**
 * idwt2 for 2-tap filters (db1, haar) in one pass: the same float32 operations in the same order
 * as the general path (each output is one product from the approximation plus one from the
 * detail), without its per-line bookkeeping; SES rebuilds a noise with this at every candidate.
 */
function idwt2TwoTap(cA: Planes, { cH, cV, cD }: DetailBands, bank: FilterBank): Planes {
  const { batch, rows, cols } = cA;
  const [l0, l1] = bank.recLo;
  const [h0, h1] = bank.recHi;
  const outCols = 2 * cols;
  const out = new Float32Array(batch * 4 * rows * cols);
  const A = cA.data, H = cH.data, V = cV.data, D = cD.data;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      const i0 = (b * rows + r) * cols;
      const o0 = (b * 2 * rows + 2 * r) * outCols;
      for (let c = 0; c < cols; c++) {
        const i = i0 + c;
        const a = A[i], h = H[i], v = V[i], d = D[i];
        // along axis -1: (cA, cV) -> a0 a1, (cH, cD) -> d0 d1
        const a0 = f32(f32(l0 * a) + f32(h0 * v));
        const a1 = f32(f32(l1 * a) + f32(h1 * v));
        const d0 = f32(f32(l0 * h) + f32(h0 * d));
        const d1 = f32(f32(l1 * h) + f32(h1 * d));
        // along axis -2
        const o = o0 + 2 * c;
        out[o] = f32(l0 * a0) + f32(h0 * d0);
        out[o + 1] = f32(l0 * a1) + f32(h0 * d1);
        out[o + outCols] = f32(l1 * a0) + f32(h1 * d0);
        out[o + outCols + 1] = f32(l1 * a1) + f32(h1 * d1);
      }
    }
  }
  return { data: out, batch, rows: 2 * rows, cols: outCols };
}

export function wavedec2(x: Planes, wavelet: string, level: number): Decomposition {
  const details: DetailBands[] = [];
  let cA = x;
  for (let l = 0; l < level; l++) {
    const { cA: next, cH, cV, cD } = dwt2(cA, wavelet);
    details.unshift({ cH, cV, cD });
    cA = next;
  }
  return { cA, details };
}

/** Drops the last row/column of cA where it is one longer than the details, as waverec2 does. */
function trimTo(cA: Planes, rows: number, cols: number): Planes {
  if (cA.rows - rows > 1 || cA.cols - cols > 1 || cA.rows < rows || cA.cols < cols) {
    throw new Error(`coefficient shapes do not match: cA ${cA.rows}x${cA.cols}, details ${rows}x${cols}`);
  }
  return cropPlanes(cA, rows, cols);
}

/** The top-left rows x cols of every plane. */
export function cropPlanes(p: Planes, rows: number, cols: number): Planes {
  if (p.rows === rows && p.cols === cols) return p;
  const out: Planes = { data: new Float32Array(p.batch * rows * cols), batch: p.batch, rows, cols };
  for (let b = 0; b < p.batch; b++) {
    for (let r = 0; r < rows; r++) {
      const from = (b * p.rows + r) * p.cols;
      out.data.set(p.data.subarray(from, from + cols), (b * rows + r) * cols);
    }
  }
  return out;
}

export function waverec2(dec: Decomposition, wavelet: string): Planes {
  let cA = dec.cA;
  for (const bands of dec.details) {
    cA = idwt2(trimTo(cA, bands.cH.rows, bands.cH.cols), bands, wavelet);
  }
  return cA;
}
