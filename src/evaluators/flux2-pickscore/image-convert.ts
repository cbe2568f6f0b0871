/**
 * The VAE output -> uint8 image step of DiffSynth's BasePipeline.vae_output_to_image:
 * ((x - (-1)) * (255 / 2)).clip(0, 255).to(uint8), in float32, rearranged C H W -> H W C.
 */

/** One batch row: `vaeOut` is 3 x height x width (CHW, about [-1, 1]); returns height x width x 3 (HWC). */
export function decodedToUint8(vaeOut: Float32Array, height: number, width: number): Uint8Array {
  const plane = height * width;
  if (vaeOut.length !== 3 * plane) throw new RangeError(`decoded image has ${vaeOut.length} values, expected 3x${height}x${width}`);
  const out = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      // Both float32 roundings as torch does them; 127.5 is exact in float32.
      const v = Math.fround(Math.fround(vaeOut[c * plane + p] + 1) * 127.5);
      // Clip, then the float -> uint8 cast truncates toward zero (a Uint8Array store does the same; NaN -> 0).
      out[p * 3 + c] = Math.min(Math.max(v, 0), 255);
    }
  }
  return out;
}
