/**
 * A graph's output must be finite: NaN or infinity (broken weights, float16 overflow: docs/models.md)
 * would otherwise become a black image and a score like any other. Checked where each stage's output
 * comes back, so the evaluation fails naming the stage.
 */

/** Throws, naming `stage`, when `values` holds a NaN or an infinity. */
export function requireFinite(stage: string, values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for finite v, NaN for NaN and infinities: one test per value
    if (v - v !== 0) {
      throw new Error(`the ${stage} gave a non-finite output (${v} at index ${i} of ${values.length}): broken weights, or overflow at this precision (docs/models.md)`);
    }
  }
  return values;
}
