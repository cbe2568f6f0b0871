// Figure 3: bit-exact torch-compatible (1,128,64,64) noise per second on one core, and the SES
// per-candidate work on a worker (rebuild from the recipe with the cached base split).
import { torchRandn } from "../dist/noise/torch-generator.js";
import { NoiseFactory } from "../dist/recipes/materialise.js";
import { SesSearch } from "../dist/strategies/ses.js";

function timeIt(fn, minMs = 2000) {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    n++;
  }
  return (performance.now() - start) / n;
}

export function noiseBench() {
  const shape = [1, 128, 64, 64];
  let seed = 0;
  const randnMs = timeIt(() => torchRandn(seed++, 128 * 64 * 64));
  const ses = new SesSearch({ seed: 0, budget: 10, shape }, { popsize: 10, elites: 5, wavelet: "db1", level: 4 });
  const recipes = ses.ask(10).map((c) => c.recipe);
  const factory = new NoiseFactory();
  factory.materialise(recipes[0], shape);
  let i = 0;
  const sesMs = timeIt(() => factory.materialise(recipes[i++ % recipes.length], shape));
  return { randn_ms: randnMs, randn_per_s: 1000 / randnMs, ses_rebuild_ms: sesMs, ses_rebuild_per_s: 1000 / sesMs };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(noiseBench());
