/**
 * The native noise addon (native/torch_normal.c): mt19937 uniforms and the Box-Muller transform,
 * bit-identical to the JavaScript ones and, with AVX2 and FMA (8 lanes), about 40 times faster
 * (BENCHMARKS.md: 1.3 ms against 50 ms for (1,128,64,64); less with the scalar transform other
 * CPUs get), and SES's per-generation arithmetic (the same bits as its JavaScript, several times
 * faster). Built by `npm ci` (node-gyp, scripts/build-addon.mjs, which says why when it cannot);
 * when it is missing, or with SWEEP_NATIVE_NOISE=0, JavaScript is used.
 */
import { createRequire } from "node:module";

export interface NoiseAddon {
  /** 8 when the transform runs on AVX2 and FMA, 1 for the scalar one (or SWEEP_NATIVE_SCALAR=1). */
  readonly lanes: number;
  /** Transforms every whole 16-value block of uniforms into normals in place. */
  boxMuller16(values: Float32Array): void;
  /** Fills dest with torch's float uniforms from an mt19937 state and output buffer; returns the new position. */
  uniform24(state: Uint32Array, out: Uint32Array, pos: number, dest: Float32Array): number;
  /** Drops the next n draws of an mt19937 state and output buffer; returns the new position. Absent from addons built before it. */
  mtSkip?(state: Uint32Array, out: Uint32Array, pos: number, n: number): number;
  /**
   * numpy's standard normals into out from a PCG64 state and increment held as 16-bit limbs
   * (limbs[0..8) and [8..16), least significant first; the state is updated), with numpy's
   * ziggurat tables. Absent from addons built before it, and where C has no 128-bit integers.
   */
  numpyNormals?(limbs: Float64Array, out: Float64Array, ki: Float64Array, wi: Float64Array, fi: Float64Array, r: number, invR: number): void;
  /** Zero-order's neighbour of a pivot towards normals (u, r: scratch of the same length), as src/noise/sphere-neighbour.ts. */
  sphereNeighbour?(pivot: Float32Array, normals: Float64Array, u: Float64Array, r: Float64Array, threshold: number, out: Float32Array): void;
  /**
   * SES: std = sqrt(max(sigma2, floor)), then every D-long row of normals z -> mu + z * std in place
   * (the same bits as src/strategies/ses.ts). Absent from addons built before it.
   */
  sesSample?(samples: Float32Array, mu: Float32Array, sigma2: Float32Array, std: Float32Array, floor: number): void;
  /** SES: mu = the rows' mean, and with two rows or more sigma2 = their sample variance + jitter. */
  sesMoments?(rows: Float32Array[], mu: Float32Array, sigma2: Float32Array, jitter: number): void;
}

const ADDON_PATH = "../../build/Release/torch_normal.node";

function load(): { addon: NoiseAddon | null; missing: string | null } {
  if (process.env.SWEEP_NATIVE_NOISE === "0") return { addon: null, missing: "disabled by SWEEP_NATIVE_NOISE=0" };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as NoiseAddon, missing: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing = code === "MODULE_NOT_FOUND"
      ? "not built (build/Release/torch_normal.node is missing: `npm ci` or `npm run install` builds it)"
      : `not loadable (build/Release/torch_normal.node: ${(err as Error).message.split("\n")[0]})`;
    return { addon: null, missing };
  }
}

const loaded = load();

/** The addon, or null if it is not built or disabled. */
export const noiseAddon: NoiseAddon | null = loaded.addon;

/** Why noiseAddon is null (for messages, e.g. the tests' skip notes); null when it is loaded. */
export const noiseAddonMissing: string | null = loaded.missing;
