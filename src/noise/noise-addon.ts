/**
 * The native noise addon (native/torch_normal.c): mt19937 uniforms and the Box-Muller transform,
 * bit-identical to the JavaScript ones and about 10x faster (8 lanes with AVX2 and FMA), and SES's
 * per-generation arithmetic (the same bits as its JavaScript, several times faster). Built by
 * `npm ci` (node-gyp); when it is missing, or with SWEEP_NATIVE_NOISE=0, JavaScript is used.
 */
import { createRequire } from "node:module";

export interface NoiseAddon {
  /** 8 when the transform runs on AVX2 and FMA, 1 for the scalar one (or SWEEP_NATIVE_SCALAR=1). */
  readonly lanes: number;
  /** Transforms every whole 16-value block of uniforms into normals in place. */
  boxMuller16(values: Float32Array): void;
  /** Fills dest with torch's float uniforms from an mt19937 state and output buffer; returns the new position. */
  uniform24(state: Uint32Array, out: Uint32Array, pos: number, dest: Float32Array): number;
  /**
   * SES: std = sqrt(max(sigma2, floor)), then every D-long row of normals z -> mu + z * std in place
   * (the same bits as src/strategies/ses.ts). Absent from addons built before it.
   */
  sesSample?(samples: Float32Array, mu: Float32Array, sigma2: Float32Array, std: Float32Array, floor: number): void;
  /** SES: mu = the rows' mean, and with two rows or more sigma2 = their sample variance + jitter. */
  sesMoments?(rows: Float32Array[], mu: Float32Array, sigma2: Float32Array, jitter: number): void;
}

function load(): NoiseAddon | null {
  if (process.env.SWEEP_NATIVE_NOISE === "0") return null;
  try {
    return createRequire(import.meta.url)("../../build/Release/torch_normal.node") as NoiseAddon;
  } catch {
    return null;
  }
}

/** The addon, or null if it is not built or disabled. */
export const noiseAddon: NoiseAddon | null = load();
