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

/** torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)), flattened row-major. */
export function torchRandn(seed: number, numel: number, useNative = true): Float32Array {
  return new TorchGenerator(seed, useNative).randn(numel);
}
