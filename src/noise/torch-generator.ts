/**
 * torch.randn on a CPU torch.Generator, bit for bit (float32), as torch's CPU kernel draws it
 * (docs/reproducibility.md, "Noise"): numel >= 16 takes the 16-wide Box-Muller fill; numel < 16 the
 * scalar double path with its cache.
 */
import { MT19937 } from "./mt19937.js";
import { logF32, sincosF32, sincosOut } from "./float32-math.js";
import { noiseAddon } from "./noise-addon.js";

const f32 = Math.fround;
const TWO_PI_F32 = f32(2 * Math.PI);
const TWO_POW_M53 = 2 ** -53;

export class TorchGenerator {
  private readonly mt: MT19937;
  private cachedNormal: number | null = null;

  /**
   * Same as torch.Generator("cpu").manual_seed(seed) (and torch.manual_seed for the default one).
   * `useNative` false forces the JavaScript implementation (tests compare the two).
   */
  constructor(seed: number, private readonly useNative = true) {
    this.mt = new MT19937(seed);
  }

  /** torch.randn(n values, generator=this), float32. */
  randn(n: number): Float32Array {
    const out = new Float32Array(n);
    this.randnInto(out);
    return out;
  }

  randnInto(out: Float32Array): void {
    const n = out.length;
    if (n < 16) {
      for (let i = 0; i < n; i++) out[i] = this.scalarNormal();
      return;
    }
    const addon = this.useNative ? noiseAddon : null;
    this.mt.fillUniform24(out, addon);
    const full = n - (n % 16);
    if (addon) addon.boxMuller16(out.subarray(0, full));
    else for (let b = 0; b < full; b += 16) boxMullerBlock(out, b);
    if (n % 16 !== 0) {
      const tail = new Float32Array(16);
      this.mt.fillUniform24(tail, null);
      boxMullerBlock(tail, 0);
      out.set(tail, n - 16);
    }
  }

  /** A copy at the same point of the stream (its cached normal too). */
  clone(): TorchGenerator {
    const c = Object.create(TorchGenerator.prototype) as TorchGenerator;
    Object.assign(c, { mt: this.mt.clone(), cachedNormal: this.cachedNormal, useNative: this.useNative });
    return c;
  }

  /** One 32-bit output (torch's random(), as randperm and randint draw it). */
  u32(): number {
    return this.mt.next();
  }

  /** Drops the next n 32-bit outputs. */
  skip(n: number): void {
    this.mt.skip(n, this.useNative ? noiseAddon : null);
  }

  /**
   * Values [start, start + length) of a torch.randn call of `count` values made at this point of
   * the stream, drawing only the blocks of 16 they come from; the generator then stands after the
   * whole call. With count % 16 != 0 the last 16 values come from 16 more draws after the call's
   * count (TORCH_RNG.md, section 4); calls under 16 values are drawn whole (the scalar path).
   */
  randnSlice(count: number, start: number, length: number): Float32Array {
    const end = start + length;
    if (start < 0 || end > count) throw new RangeError(`values [${start}, ${end}) are outside a call of ${count}`);
    if (count < 16) return this.randn(count).slice(start, end);
    const out = new Float32Array(length);
    const tailFrom = count % 16 === 0 ? count : count - 16;
    let position = 0;
    const mainEnd = Math.min(end, tailFrom);
    if (start < mainEnd) {
      const from = start - (start % 16);
      const to = Math.min(Math.ceil(mainEnd / 16) * 16, count - (count % 16));
      this.skip(from);
      const block = this.randn(to - from);
      out.set(block.subarray(start - from, mainEnd - from), 0);
      position = to;
    }
    if (end > tailFrom) {
      this.skip(count - position);
      const tail = this.randn(16);
      const first = Math.max(start, tailFrom);
      out.set(tail.subarray(first - tailFrom, end - tailFrom), first - start);
      return out;
    }
    this.skip(randnDraws(count) - position);
    return out;
  }

  private uniform64(): number {
    const hi = this.mt.next() & 0x1fffff;
    const lo = this.mt.next();
    return (hi * 4294967296 + lo) * TWO_POW_M53;
  }

  private scalarNormal(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniform64();
    const u2 = this.uniform64();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** Transforms d[b..b+16) of uniforms in place into 16 normals, as torch's normal_fill_16_AVX2. */
function boxMullerBlock(d: Float32Array, b: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = 1 - d[b + j];
    const radius = f32(Math.sqrt(-2 * logF32(u1)));
    sincosF32(f32(TWO_PI_F32 * d[b + j + 8]));
    d[b + j] = radius * sincosOut.cos;
    d[b + j + 8] = radius * sincosOut.sin;
  }
}

/** The 32-bit draws a torch.randn call of n float32 values takes from a freshly seeded generator. */
export function randnDraws(n: number): number {
  if (n >= 16) return n % 16 === 0 ? n : n + 16;
  return 4 * Math.ceil(n / 2);
}

/** torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)), flattened row-major. */
export function torchRandn(seed: number, numel: number, useNative = true): Float32Array {
  return new TorchGenerator(seed, useNative).randn(numel);
}
