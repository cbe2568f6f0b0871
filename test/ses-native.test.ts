// SES's per-generation arithmetic in the native addon gives the bits of its JavaScript, and a
// search runner's recycled sample arrays change nothing it sees (ses-trace.test.ts holds both to
// the reference).
import { describe, expect, it } from "vitest";
import { noiseAddon, noiseAddonMissing } from "../src/noise/noise-addon.js";
import type { NoiseShape } from "../src/domain/candidate.js";
import { SesSearch, type SesOptions } from "../src/strategies/ses.js";
import { needAddon } from "./native-addon.js";

interface Run { lows: Float32Array[]; asked: Float32Array[] }

/**
 * A whole search, told a score that depends on every value of the candidate (so a wrong bit
 * anywhere changes the elites). `lows` are copies taken when asked; `asked` the arrays themselves.
 */
function search(shape: NoiseShape, opts: SesOptions, budget: number, seed: number, useNative: boolean, recycleRecipes: boolean, limit = 7): Run {
  const ses = new SesSearch({ seed, budget, shape, recycleRecipes }, opts, useNative);
  const lows: Float32Array[] = [];
  const asked: Float32Array[] = [];
  while (!ses.exhausted) {
    const batch = ses.ask(limit);
    for (const c of batch) {
      if (c.recipe.kind !== "ses") throw new Error("not an SES candidate");
      const low = c.recipe.low;
      lows.push(low.slice());
      asked.push(low);
      let score = 0;
      for (let i = 0; i < low.length; i++) score += low[i] * Math.cos(0.37 * i + seed);
      ses.tell(c.evalIndex, score);
    }
  }
  return { lows, asked };
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const cases: [string, NoiseShape, SesOptions, number][] = [
  ["DiffSynth's defaults at (1,128,64,64)", [1, 128, 64, 64], { popsize: 10, elites: 5, wavelet: "db1", level: 4 }, 63],
  ["db2, level 2, a budget that ends mid-generation", [1, 8, 32, 32], { popsize: 6, elites: 3, wavelet: "db2", level: 2 }, 40],
  ["one elite (no variance update)", [1, 4, 16, 16], { popsize: 5, elites: 1, wavelet: "haar", level: 2 }, 25],
];

describe("SES arithmetic", () => {
  // Skipped with the reason where the addon (or, built before them, its SES functions) is not
  // there; failed instead where the addon is required (test/native-addon.ts).
  const sesMissing = noiseAddonMissing ?? (noiseAddon?.sesSample && noiseAddon?.sesMoments ? null : "built before sesSample/sesMoments (`npm run install` rebuilds it)");

  it.for(cases)("native equals JavaScript to the bit: %s", ([_name, shape, opts, budget], ctx) => {
    needAddon(ctx, sesMissing);
    for (const seed of [0, 5]) {
      const js = search(shape, opts, budget, seed, false, false);
      const native = search(shape, opts, budget, seed, true, false);
      expect(native.lows).toHaveLength(budget);
      for (let i = 0; i < budget; i++) expect(bits(native.lows[i]).equals(bits(js.lows[i])), `eval ${i}`).toBe(true);
    }
  });

  it.each(cases)("recycled sample arrays ask the same candidates: %s", (_name, shape, opts, budget) => {
    const kept = search(shape, opts, budget, 3, true, false);
    const recycled = search(shape, opts, budget, 3, true, true, 3);
    for (let i = 0; i < budget; i++) expect(bits(recycled.lows[i]).equals(bits(kept.lows[i])), `eval ${i}`).toBe(true);
    // Without recycling, a candidate's low band stays as it was asked, however long it is kept.
    for (let i = 0; i < budget; i++) expect(bits(kept.asked[i]).equals(bits(kept.lows[i])), `eval ${i}`).toBe(true);
    // With it, the arrays of the generation before last are drawn into again (search runners let go of them).
    if (budget > 2 * opts.popsize) expect(recycled.asked[0].buffer).toBe(recycled.asked[2 * opts.popsize].buffer);
  });
});
