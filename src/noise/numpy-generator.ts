/**
 * numpy's default generator, to the bit, for the normals zero-order search draws:
 * `np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy))).standard_normal`
 * (numpy 1.17 and later; ../shared/reference/strategies/zo-spec.md, section 7). Written here
 * because nothing on npm reproduces numpy's SeedSequence, PCG64 and 256-layer ziggurat exactly.
 *
 * PCG64's 128-bit state is held as eight 16-bit limbs in doubles, so the multiply is exact
 * without BigInt (whose allocations would cost far more than the arithmetic). The native addon
 * draws bulk normals on the same limbs (the same bits, several times faster).
 */
import { FI, KI, WI, ZIGGURAT_INV_R, ZIGGURAT_R } from "./numpy-ziggurat-tables.js";
import { noiseAddon } from "./noise-addon.js";

/** SeedSequence's entropy words: each integer as its 32-bit words, least significant first (0 is one word). */
function entropyWords(entropy: readonly number[]): number[] {
  const words: number[] = [];
  for (const n of entropy) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`SeedSequence entropy must be non-negative safe integers, got ${n}`);
    let v = n;
    do {
      words.push(v % 4294967296);
      v = Math.floor(v / 4294967296);
    } while (v > 0);
  }
  return words;
}

/** SeedSequence(entropy).generate_state(n, uint32): numpy's pool of 4 words and its hash mixing. */
export function seedSequenceState(entropy: readonly number[], n: number): Uint32Array {
  const words = entropyWords(entropy);
  let hashConst = 0x43b0d7e5;
  const hashmix = (value: number): number => {
    let v = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, 0x931e8875) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    return (v ^ (v >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(0xca01f9dd, x) - Math.imul(0x4973f715, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = new Uint32Array(4);
  for (let i = 0; i < 4; i++) pool[i] = hashmix(i < words.length ? words[i] : 0);
  for (let src = 0; src < 4; src++) {
    for (let dst = 0; dst < 4; dst++) if (dst !== src) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  }
  for (let i = 4; i < words.length; i++) {
    for (let dst = 0; dst < 4; dst++) pool[dst] = mix(pool[dst], hashmix(words[i]));
  }
  const out = new Uint32Array(n);
  let g = 0x8b51f9dd;
  for (let i = 0; i < n; i++) {
    let v = (pool[i % 4] ^ g) >>> 0;
    g = Math.imul(g, 0x58f38ded) >>> 0;
    v = Math.imul(v, g) >>> 0;
    out[i] = (v ^ (v >>> 16)) >>> 0;
  }
  return out;
}

const MULTIPLIER = 0x2360ed051fc65da44385df649fccf645n;
const MOD128 = (1n << 128n) - 1n;

function limbs16(x: bigint): Float64Array {
  const out = new Float64Array(8);
  for (let i = 0; i < 8; i++) out[i] = Number((x >> BigInt(16 * i)) & 0xffffn);
  return out;
}

const A = limbs16(MULTIPLIER);
const TWO_POW_M53 = 2 ** -53;
const INV_2_16 = 2 ** -16;

/** PCG64 (XSL-RR 128/64) seeded from SeedSequence(entropy), with numpy's float64 draws. */
export class NumpyGenerator {
  /** State then increment, eight 16-bit limbs each, least significant first (one array, as the addon takes it). */
  private readonly limbs: Float64Array;
  private readonly s: Float64Array;
  private readonly inc: Float64Array;
  /** The last 64-bit output, as two 32-bit halves. */
  private hi = 0;
  private lo = 0;

  constructor(entropy: readonly number[]) {
    const w = seedSequenceState(entropy, 8);
    const u = (j: number) => BigInt(w[2 * j]) | (BigInt(w[2 * j + 1]) << 32n);
    const initstate = (u(0) << 64n) | u(1);
    const initseq = (u(2) << 64n) | u(3);
    const inc = ((initseq << 1n) | 1n) & MOD128;
    let state = inc; // A * 0 + inc
    state = (state + initstate) & MOD128;
    state = (MULTIPLIER * state + inc) & MOD128;
    this.limbs = new Float64Array(16);
    this.limbs.set(limbs16(state), 0);
    this.limbs.set(limbs16(inc), 8);
    this.s = this.limbs.subarray(0, 8);
    this.inc = this.limbs.subarray(8, 16);
  }

  /** The state and increment as 128-bit integers (for tests against numpy's). */
  get stateBigInt(): { state: bigint; inc: bigint } {
    const big = (l: Float64Array) => l.reduceRight((acc, v) => (acc << 16n) | BigInt(v), 0n);
    return { state: big(this.s), inc: big(this.inc) };
  }

  /** Advances the state and sets hi/lo to the next 64-bit output. */
  private next64(): void {
    const s = this.s;
    const inc = this.inc;
    const s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
    const a0 = A[0], a1 = A[1], a2 = A[2], a3 = A[3], a4 = A[4], a5 = A[5], a6 = A[6], a7 = A[7];
    // Each sum of at most eight 32-bit products plus a carry stays far below 2^53: exact.
    let t = s0 * a0 + inc[0];
    let c: number;
    c = Math.floor(t * INV_2_16);
    s[0] = t - c * 65536;
    t = c + s0 * a1 + s1 * a0 + inc[1];
    c = Math.floor(t * INV_2_16);
    s[1] = t - c * 65536;
    t = c + s0 * a2 + s1 * a1 + s2 * a0 + inc[2];
    c = Math.floor(t * INV_2_16);
    s[2] = t - c * 65536;
    t = c + s0 * a3 + s1 * a2 + s2 * a1 + s3 * a0 + inc[3];
    c = Math.floor(t * INV_2_16);
    s[3] = t - c * 65536;
    t = c + s0 * a4 + s1 * a3 + s2 * a2 + s3 * a1 + s4 * a0 + inc[4];
    c = Math.floor(t * INV_2_16);
    s[4] = t - c * 65536;
    t = c + s0 * a5 + s1 * a4 + s2 * a3 + s3 * a2 + s4 * a1 + s5 * a0 + inc[5];
    c = Math.floor(t * INV_2_16);
    s[5] = t - c * 65536;
    t = c + s0 * a6 + s1 * a5 + s2 * a4 + s3 * a3 + s4 * a2 + s5 * a1 + s6 * a0 + inc[6];
    c = Math.floor(t * INV_2_16);
    s[6] = t - c * 65536;
    t = c + s0 * a7 + s1 * a6 + s2 * a5 + s3 * a4 + s4 * a3 + s5 * a2 + s6 * a1 + s7 * a0 + inc[7];
    c = Math.floor(t * INV_2_16);
    s[7] = t - c * 65536;
    // XSL-RR: (hi xor lo) rotated right by the top 6 bits of the state.
    const xh = (((s[7] ^ s[3]) << 16) | (s[6] ^ s[2])) >>> 0;
    const xl = (((s[5] ^ s[1]) << 16) | (s[4] ^ s[0])) >>> 0;
    const rot = s[7] >>> 10;
    if (rot === 0) {
      this.hi = xh;
      this.lo = xl;
    } else if (rot < 32) {
      this.hi = ((xh >>> rot) | (xl << (32 - rot))) >>> 0;
      this.lo = ((xl >>> rot) | (xh << (32 - rot))) >>> 0;
    } else if (rot === 32) {
      this.hi = xl;
      this.lo = xh;
    } else {
      const r = rot - 32;
      this.hi = ((xl >>> r) | (xh << (32 - r))) >>> 0;
      this.lo = ((xh >>> r) | (xl << (32 - r))) >>> 0;
    }
  }

  /** The next 64-bit output (for tests). */
  nextUint64(): bigint {
    this.next64();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** numpy's next_double: (output >> 11) * 2^-53. */
  nextDouble(): number {
    this.next64();
    return (this.hi * 2097152 + (this.lo >>> 11)) * TWO_POW_M53;
  }

  /** One standard normal by numpy's ziggurat (random_standard_normal). */
  standardNormal(): number {
    for (;;) {
      this.next64();
      const lo = this.lo;
      const idx = lo & 0xff;
      // rabs = (r >> 9) & (2^52 - 1): 29 bits of the high half, 23 of the low.
      const rabs = (this.hi & 0x1fffffff) * 8388608 + (lo >>> 9);
      let x = rabs * WI[idx];
      if (lo & 0x100) x = -x;
      if (rabs < KI[idx]) return x;
      if (idx === 0) {
        for (;;) {
          const xx = -ZIGGURAT_INV_R * Math.log1p(-this.nextDouble());
          const yy = -Math.log1p(-this.nextDouble());
          if (yy + yy > xx * xx) return (lo >>> 17) & 1 ? -(ZIGGURAT_R + xx) : ZIGGURAT_R + xx;
        }
      }
      if ((FI[idx - 1] - FI[idx]) * this.nextDouble() + FI[idx] < Math.exp(-0.5 * x * x)) return x;
    }
  }

  /** Fills out with standard normals, in order; `useNative` false keeps the addon out (tests compare the two). */
  fillStandardNormal(out: Float64Array, useNative = true): void {
    const addon = useNative ? noiseAddon : null;
    if (addon?.numpyNormals) {
      addon.numpyNormals(this.limbs, out, KI, WI, FI, ZIGGURAT_R, ZIGGURAT_INV_R);
      return;
    }
    for (let i = 0; i < out.length; i++) out[i] = this.standardNormal();
  }

  /** Draws and drops n standard normals (their count of outputs is not fixed, so they must be drawn). */
  skipStandardNormals(n: number): void {
    const chunk = new Float64Array(Math.min(n, 65536));
    for (let left = n; left > 0; left -= chunk.length) this.fillStandardNormal(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }

  /** A copy at the same point of the stream. */
  clone(): NumpyGenerator {
    const c = Object.create(NumpyGenerator.prototype) as NumpyGenerator;
    const limbs = Float64Array.from(this.limbs);
    Object.assign(c, { limbs, s: limbs.subarray(0, 8), inc: limbs.subarray(8, 16), hi: this.hi, lo: this.lo });
    return c;
  }
}
