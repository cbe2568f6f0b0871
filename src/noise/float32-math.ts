/**
 * Float32 arithmetic of torch's AVX2 Box-Muller kernel (Cephes log and sincos from avx_mathfun.h,
 * with the multiply-adds GCC fuses into FMA). Written by hand because parity with torch must hold
 * to the bit: double-precision log/sin/cos rounded to float32 differ in about 38% of values.
 */
const f32 = Math.fround;

/**
 * Correctly rounded float32 fused multiply-add of float32 inputs.
 * a*b is exact in double; s = a*b + c rounded to double can only mislead float32 rounding when s
 * lands exactly on a float32 midpoint, so only then the exact error (TwoSum) decides the side.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  let f = f32(s);
  const d = s - f;
  if (d !== 0) {
    const g = f + 2 * d;
    if (f32(g) === g) {
      const bb = s - p;
      const err = p - (s - bb) + (c - bb);
      if (err > 0) f = Math.max(f, g);
      else if (err < 0) f = Math.min(f, g);
    }
  }
  return f;
}

const bitsF32 = new Float32Array(1);
const bitsI32 = new Int32Array(bitsF32.buffer);

const FLT_MIN = f32(1.17549435e-38);
const SQRTHF = f32(0.707106781186547524);
const LOG_P0 = f32(7.0376836292e-2);
const LOG_P1 = f32(-1.1514610310e-1);
const LOG_P2 = f32(1.1676998740e-1);
const LOG_P3 = f32(-1.2420140846e-1);
const LOG_P4 = f32(1.4249322787e-1);
const LOG_P5 = f32(-1.6668057665e-1);
const LOG_P6 = f32(2.0000714765e-1);
const LOG_P7 = f32(-2.4999993993e-1);
const LOG_P8 = f32(3.3333331174e-1);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);

/** Natural log of a float32 > 0, as torch's log256_ps computes it. */
export function logF32(v: number): number {
  bitsF32[0] = v < FLT_MIN ? FLT_MIN : v;
  const bits = bitsI32[0];
  let e = ((bits >> 23) & 0xff) - 127 + 1;
  bitsI32[0] = (bits & ~0x7f800000) | 0x3f000000;
  let x = bitsF32[0];
  let tmp = 0;
  if (x < SQRTHF) {
    tmp = x;
    e -= 1;
  }
  x = f32(f32(x - 1) + tmp);
  const z = f32(x * x);
  let y = LOG_P0;
  y = fma32(y, x, LOG_P1);
  y = fma32(y, x, LOG_P2);
  y = fma32(y, x, LOG_P3);
  y = fma32(y, x, LOG_P4);
  y = fma32(y, x, LOG_P5);
  y = fma32(y, x, LOG_P6);
  y = fma32(y, x, LOG_P7);
  y = fma32(y, x, LOG_P8);
  y = f32(y * x);
  y = fma32(y, z, f32(e * LOG_Q1));
  y = fma32(-z, 0.5, y);
  x = f32(x + y);
  return fma32(e, LOG_Q2, x);
}

const FOPI = f32(1.27323954473516);
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const COS_P0 = f32(2.443315711809948e-5);
const COS_P1 = f32(-1.388731625493765e-3);
const COS_P2 = f32(4.166664568298827e-2);
const SIN_P0 = f32(-1.9515295891e-4);
const SIN_P1 = f32(8.3321608736e-3);
const SIN_P2 = f32(-1.6666654611e-1);

/** Result slots of sincosF32, reused so the hot loop allocates nothing. */
export const sincosOut = { sin: 0, cos: 0 };

/** sin and cos of a float32 angle in [0, 2*pi), as torch's sincos256_ps computes them. */
export function sincosF32(angle: number): void {
  const negative = angle < 0 || Object.is(angle, -0);
  let x = Math.abs(angle);
  let j = Math.trunc(f32(x * FOPI));
  j = (j + 1) & ~1;
  const y = j;
  const swapSin = (j & 4) !== 0;
  const usePoly = (j & 2) === 0;
  x = fma32(y, DP1, x);
  x = fma32(y, DP2, x);
  x = fma32(y, DP3, x);
  const negCos = (~(j - 2) & 4) !== 0;
  const negSin = negative !== swapSin;
  const z = f32(x * x);
  let yc = COS_P0;
  yc = fma32(yc, z, COS_P1);
  yc = fma32(yc, z, COS_P2);
  yc = f32(fma32(f32(yc * z), z, -f32(z * 0.5)) + 1);
  let ys = SIN_P0;
  ys = fma32(ys, z, SIN_P1);
  ys = fma32(ys, z, SIN_P2);
  ys = fma32(f32(ys * z), x, x);
  const s = usePoly ? ys : yc;
  const c = usePoly ? yc : ys;
  sincosOut.sin = negSin ? -s : s;
  sincosOut.cos = negCos ? -c : c;
}
