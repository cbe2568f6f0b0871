// The memory estimate (src/models/memory-estimate.ts) of the real model (FLUX.2-klein-4B + PickScore,
// at the dimensions `--synthetic flux2-klein-4b` has) per max_batch, for docs/models.md's table.
// Usage: npm run build && node bench/memory-table.mjs [HEIGHT WIDTH PRECISION]
import { estimateMemory, largestFittingBatch } from "../dist/models/memory-estimate.js";
import { GRAPH_NAMES } from "../dist/models/manifest.js";
import { syntheticDimensions, syntheticStageGraphs } from "../dist/models/synthetic/synthetic-models.js";

const [height = 1024, width = 1024, precision = "bfloat16"] = process.argv.slice(2).map((a, i) => (i < 2 ? Number(a) : a));
const graphs = syntheticStageGraphs("flux2-klein-4b", precision);
const weights = Object.fromEntries(GRAPH_NAMES.map((g) => [g, graphs[g].weightBytes()]));
const dims = syntheticDimensions("flux2-klein-4b");
const GB = 2 ** 30;
const f = (b) => (b / GB).toFixed(1);
console.log(`flux2-klein-4b ${height}x${width} ${precision}: weights ${GRAPH_NAMES.map((g) => `${g} ${f(weights[g])}`).join(", ")} GB`);
console.log("| max_batch | weights | transformer | VAE decoder | text + CLIP | total (GB) |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const batch of [1, 2, 4, 8, 16]) {
  const e = estimateMemory(dims, weights, { precision, height, width, batch }, "gpu");
  const a = e.activations;
  console.log(`| ${batch} | ${f(e.weights)} | ${f(a.transformer)} | ${f(a.vae_decoder)} | ${f(a.text_encoder + a.clip_vision + a.clip_text)} | ${f(e.total)} |`);
}
for (const [card, gb] of [["H200 141 GB", 141], ["H100 80 GB", 80], ["A100 40 GB", 40], ["L4 24 GB", 24], ["16 GB", 16]]) {
  const fits = largestFittingBatch(dims, weights, { precision, height, width }, "gpu", 1, gb * 1e9);
  console.log(`${card}: largest max_batch ${fits}${fits > 0 ? "" : " (does not fit)"}`);
}
