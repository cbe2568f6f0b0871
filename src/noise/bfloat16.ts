/**
 * bfloat16 noise as modern torch (>= 2.13) draws it: the float32 noise rounded to nearest-even
 * bfloat16 (TORCH_RNG.md section 7), returned widened to float32 (exact).
 */
export function roundToBfloat16(values: Float32Array): Float32Array {
  const out = new Float32Array(values);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return out;
}
