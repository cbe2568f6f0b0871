/**
 * FLUX.2 rotary position tables, as Flux2PosEmbed computes them: per axis i of dim d_i, the
 * frequencies 1 / theta^(2j/d_i) and the angles pos * freq in float64, cos/sin in float64, each
 * value repeated twice (interleaved pairs), then rounded to float32 (the reference's `.float()`).
 *
 * Layout the transformer graph consumes: `cos` and `sin` are row-major (tokens, head_dim), one row
 * per token in the order of the ids given, columns the axes' blocks one after another (axis 0
 * first), within a block [c0, c0, c1, c1, ...]. For the joint sequence pass the text ids first,
 * then the image ids: ropeTables([...textIds(512), ...imageIds(rows, cols)], axes, theta).
 */

/** One row of 4 ids per token: (t, h, w, l). */
export type PositionIds = number[][];

/** Text tokens: (t=0, h=0, w=0, l=index), as prepare_text_ids makes them. */
export function textIds(length: number): PositionIds {
  return Array.from({ length }, (_, l) => [0, 0, 0, l]);
}

/** Latent tokens of a rows x cols grid (height/16 x width/16), row-major: (t=0, h=row, w=col, l=0). */
export function imageIds(rows: number, cols: number): PositionIds {
  const ids: PositionIds = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ids.push([0, r, c, 0]);
  return ids;
}

export function ropeTables(ids: PositionIds, axesDims: number[], theta: number): { cos: Float32Array; sin: Float32Array } {
  const headDim = axesDims.reduce((a, d) => a + d, 0);
  // Frequencies per axis, in float64 as torch.arange(0, d, 2, float64) / d feeds theta ** (.).
  const freqs = axesDims.map((d) => Array.from({ length: d / 2 }, (_, j) => 1 / theta ** ((2 * j) / d)));
  const cos = new Float32Array(ids.length * headDim);
  const sin = new Float32Array(ids.length * headDim);
  ids.forEach((row, s) => {
    if (row.length < axesDims.length) throw new Error(`rope ids row ${s} has ${row.length} entries; ${axesDims.length} axes need as many`);
    let col = s * headDim;
    freqs.forEach((axis, i) => {
      // ids.float(): positions pass through float32 before the float64 outer product.
      const pos = Math.fround(row[i]);
      for (const f of axis) {
        const angle = pos * f;
        cos[col] = cos[col + 1] = Math.cos(angle);
        sin[col] = sin[col + 1] = Math.sin(angle);
        col += 2;
      }
    });
  });
  return { cos, sin };
}
