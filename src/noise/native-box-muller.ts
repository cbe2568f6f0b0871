/**
 * The native Box-Muller transform (native/torch_normal.c), about 3x faster than the JavaScript
 * one and bit-identical to it. Built by `npm ci` (node-gyp); when it is missing, or with
 * SWEEP_NATIVE_NOISE=0, the JavaScript implementation is used.
 */
import { createRequire } from "node:module";

type BoxMuller16 = (values: Float32Array) => void;

function load(): BoxMuller16 | null {
  if (process.env.SWEEP_NATIVE_NOISE === "0") return null;
  try {
    const addon = createRequire(import.meta.url)("../../build/Release/torch_normal.node") as { boxMuller16: BoxMuller16 };
    return addon.boxMuller16;
  } catch {
    return null;
  }
}

/** Transforms every whole 16-value block of uniforms into normals in place, or null if not built. */
export const nativeBoxMuller16: BoxMuller16 | null = load();
