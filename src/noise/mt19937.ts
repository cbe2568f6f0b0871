/**
 * mt19937 seeded as torch's CPU generator seeds it (only the low 32 bits of the seed count).
 * Outputs are produced 624 at a time into a tempered buffer, so bulk draws are cheap; the native
 * addon works on the same two buffers.
 */
import { noiseAddon, type NoiseAddon } from "./noise-addon.js";

const N = 624;
const TWO_POW_M24 = 2 ** -24;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

export class MT19937 {
  private readonly state = new Uint32Array(N);
  private readonly out = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    const st = this.state;
    st[0] = low32(seed);
    for (let j = 1; j < N; j++) {
      const prev = st[j - 1];
      st[j] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + j) >>> 0;
    }
  }

  /** A copy at the same point of the stream. */
  clone(): MT19937 {
    const c = new MT19937(0);
    c.state.set(this.state);
    c.out.set(this.out);
    c.pos = this.pos;
    return c;
  }

  /** One 32-bit output (genrand_int32). */
  next(): number {
    if (this.pos >= N) this.twist();
    return this.out[this.pos++];
  }

  /**
   * Fills dest with torch's float32 uniforms, (next() & 0xffffff) * 2^-24, one draw each; through
   * the native addon when given one (it works on this generator's own state, so streams continue).
   */
  fillUniform24(dest: Float32Array, addon: NoiseAddon | null = noiseAddon): void {
    if (addon) {
      this.pos = addon.uniform24(this.state, this.out, this.pos, dest);
      return;
    }
    for (let i = 0; i < dest.length; i++) dest[i] = (this.next() & 0xffffff) * TWO_POW_M24;
  }

  /** Drops the next n outputs; whole buffers are only twisted, not tempered (in the native addon when built). */
  skip(n: number, addon: NoiseAddon | null = noiseAddon): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot skip ${n} outputs`);
    if (addon?.mtSkip && n > N) {
      this.pos = addon.mtSkip(this.state, this.out, this.pos, n);
      return;
    }
    const left = N - this.pos;
    if (n <= left) {
      this.pos += n;
      return;
    }
    let rest = n - left;
    while (rest > N) {
      this.twistState();
      rest -= N;
    }
    this.twist();
    this.pos = rest;
  }

  private twist(): void {
    this.twistState();
    this.temper();
    this.pos = 0;
  }

  private twistState(): void {
    const mt = this.state;
    let k = 0;
    for (; k < N - M; k++) {
      const y = (mt[k] & UPPER) | (mt[k + 1] & LOWER);
      mt[k] = mt[k + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; k < N - 1; k++) {
      const y = (mt[k] & UPPER) | (mt[k + 1] & LOWER);
      mt[k] = mt[k + M - N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    const y = (mt[N - 1] & UPPER) | (mt[0] & LOWER);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
  }

  private temper(): void {
    const mt = this.state;
    const out = this.out;
    for (let i = 0; i < N; i++) {
      let v = mt[i];
      v ^= v >>> 11;
      v ^= (v << 7) & 0x9d2c5680;
      v ^= (v << 15) & 0xefc60000;
      v ^= v >>> 18;
      out[i] = v >>> 0;
    }
  }
}

/** The low 32 bits of a non-negative safe integer (torch keeps only these of a seed). */
export function low32(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  }
  return seed % 4294967296;
}
