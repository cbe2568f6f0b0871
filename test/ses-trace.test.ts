import { describe, expect, it } from "vitest";
import { NoiseFactory } from "../src/recipes/materialise.js";
import { SesSearch } from "../src/strategies/ses.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import objectiveA from "./fixtures/objective-a.mjs";
import { digest16, loadReference } from "./reference.js";
import type { NoiseShape } from "../src/domain/candidate.js";

interface Trace {
  seed: number; budget: number; popsize: number; elites: number; wavelet: string; level: number;
  base_noise_digest: string; base_score: number; scores: number[]; best_score: number; best_noise_digest: string;
}

const { traces } = loadReference<{ traces: Trace[] }>("ses_traces_A.json");
const shape: NoiseShape = [1, 128, 64, 64];

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describe("SES reproduces DiffSynth-Studio's ses_search (ses_traces_A.json)", () => {
  for (const t of traces) {
    it(`seed ${t.seed}: every score in order, within 1e-9`, () => {
      const base = torchRandn(t.seed, 128 * 64 * 64);
      expect(digest16(base)).toBe(t.base_noise_digest);
      expect(relDiff(objectiveA({ noise: base, shape }), t.base_score)).toBeLessThan(1e-9);

      const ses = new SesSearch({ seed: t.seed, budget: t.budget, shape }, {
        popsize: t.popsize, elites: t.elites, wavelet: t.wavelet, level: t.level,
      });
      const factory = new NoiseFactory();
      const scores: number[] = [];
      let best: { score: number; noise: Float32Array } = { score: -Infinity, noise: new Float32Array(0) };
      for (;;) {
        const batch = ses.ask(Infinity);
        if (batch.length === 0) break;
        for (const c of batch) {
          const noise = factory.materialise(c.recipe, shape);
          const s = objectiveA({ noise, shape });
          if (s > best.score) best = { score: s, noise };
          scores.push(s);
          ses.tell(c.evalIndex, s);
        }
      }
      expect(scores.length).toBe(t.scores.length);
      scores.forEach((s, i) => expect(relDiff(s, t.scores[i]), `eval ${i}`).toBeLessThan(1e-9));
      expect(digest16(best.noise)).toBe(t.best_noise_digest);
    });
  }
});
