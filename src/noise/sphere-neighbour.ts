/**
 * Zero-order search's neighbour of a pivot (tt-scale-flux's generate_neighbors), to the bit:
 * the point of the pivot's sphere at cosine t with it, towards a direction of normals
 * (../shared/reference/strategies/zo-spec.md, section 4). Float64 throughout, in torch's order;
 * torch's CPU norm fuses its multiply-adds, so the second norm is an exact FMA chain, which
 * JavaScript lacks and `fmaSumOfSquares` emulates (the native addon, where built, does the same
 * operations in C with its fma: the same bits, faster).
 */
import { noiseAddon } from "./noise-addon.js";

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp)
const scratch = new DataView(new ArrayBuffer(8));

/** The double next to x in the direction of `towards` (x finite). */
function nextToward(x: number, towards: number): number {
  if (x === 0) return towards > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  scratch.setFloat64(0, x);
  const bits = scratch.getBigUint64(0);
  scratch.setBigUint64(0, (towards > x) === (x > 0) ? bits + 1n : bits - 1n);
  return scratch.getFloat64(0);
}

/**
 * fma(r, r, acc) with one rounding: r*r = h + l exactly (Dekker), acc + h = s + e exactly
 * (TwoSum), then s + (e + l) rounded once. That last sum is exact unless e + l was itself rounded
 * and s + (e + l) fell on a tie, which the error of e + l then breaks.
 */
export function fmaSquareAdd(r: number, acc: number): number {
  const h = r * r;
  const c = SPLITTER * r;
  const rh = c - (c - r);
  const rl = r - rh;
  const l = rl * rl - (((h - rh * rh) - 2 * rh * rl));
  const s = acc + h;
  const bb = s - acc;
  const e = (acc - (s - bb)) + (h - bb);
  const t = e + l;
  const out = s + t;
  const tz = t - e;
  const tErr = (e - (t - tz)) + (l - tz);
  if (tErr === 0) return out;
  // s + t rounded to `out`; was it a tie (exactly half way), which tErr decides?
  const oz = out - s;
  const oErr = (s - (out - oz)) + (t - oz);
  if (oErr === 0) return out;
  const half = Math.abs(nextToward(out, out + oErr) - out) / 2;
  if (Math.abs(oErr) !== half) return out;
  return Math.sign(tErr) === Math.sign(oErr) ? nextToward(out, out + oErr) : out;
}

/** The sum of r_i^2 as acc = fma(r_i, r_i, acc) from 0, left to right (torch's CPU norm kernel). */
export function fmaSumOfSquares(r: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < r.length; i++) acc = fmaSquareAdd(r[i], acc);
  return acc;
}

/**
 * The sum of a * b's rounded products, accurate to the last bit: a double-double sum (TwoSum per
 * term, about 2^-100 relative), rounded once. The spec's traces use the exactly rounded sum (math.fsum)
 * and say any accurate order works: d only enters as d * u_i, about 1e-3 d.
 */
export function accurateDot(a: Float64Array, b: Float64Array): number {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] * b[i];
    const s = hi + x;
    const z = s - hi;
    lo += (hi - (s - z)) + (x - z);
    hi = s;
  }
  return hi + lo;
}

/** Buffers one neighbour computation needs, kept between calls. */
export class SphereNeighbours {
  private u = new Float64Array(0);
  private r = new Float64Array(0);

  /**
   * The neighbour of `pivot` at cosine `threshold`, towards `normals` (the D float64 normals of
   * this neighbour), as float32: n = |p| * (t * p/|p| + sqrt(1 - t^2) * w), w the unit vector of the
   * normals' part orthogonal to p.
   */
  neighbour(pivot: Float32Array, normals: Float64Array, threshold: number, out = new Float32Array(pivot.length), useNative = true): Float32Array {
    const D = pivot.length;
    if (this.u.length !== D) {
      this.u = new Float64Array(D);
      this.r = new Float64Array(D);
    }
    const { u, r } = this;
    const addon = useNative ? noiseAddon : null;
    if (addon?.sphereNeighbour) {
      addon.sphereNeighbour(pivot, normals, u, r, threshold, out);
      return out;
    }
    let S = 0;
    for (let i = 0; i < D; i++) S += pivot[i] * pivot[i];
    const a = Math.sqrt(S);
    const an = Math.max(a, 1e-12);
    for (let i = 0; i < D; i++) u[i] = pivot[i] / an;
    const d = accurateDot(normals, u);
    for (let i = 0; i < D; i++) r[i] = normals[i] - d * u[i];
    const m = Math.max(Math.sqrt(fmaSumOfSquares(r)), 1e-12);
    const c = Math.sqrt(1 - threshold * threshold);
    for (let i = 0; i < D; i++) out[i] = a * (threshold * u[i] + c * (r[i] / m));
    return out;
  }
}
