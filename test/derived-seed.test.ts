import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { derivedNoiseSeed } from "../src/noise/derived-seed.js";
import { planSweep } from "../src/plan/plan.js";
import type { Sweep } from "../src/domain/sweep.js";

describe("derived noise seeds of random search", () => {
  it("follow the Python formula documented in README.md", () => {
    const cases = [[0, 1], [0, 49], [7, 1], [2147483655, 3], [1099511627779, 12], [9007199254740991, 999]];
    // The formula exactly as docs give it, run by a real Python interpreter.
    const py = `
import json, sys
def noise_seed(seed, k):
    z = (seed + k * 0x9E3779B97F4A7C15) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return (z ^ (z >> 31)) >> 32
print(json.dumps([noise_seed(s, k) for s, k in json.loads(sys.argv[1])]))
`;
    const want = JSON.parse(execFileSync("python3", ["-c", py, JSON.stringify(cases)], { encoding: "utf8" }));
    expect(cases.map(([s, k]) => derivedNoiseSeed(s, k))).toEqual(want);
  });

  it("never repeats within a search or collides with small base seeds", () => {
    for (const seed of [0, 1, 2, 3, 42]) {
      const seen = new Set<number>();
      for (let k = 1; k <= 5000; k++) {
        const s = derivedNoiseSeed(seed, k);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(2 ** 32);
        seen.add(s);
      }
      expect(seen.size).toBe(5000);
      for (let base = 0; base < 1000; base++) expect(seen.has(base)).toBe(false);
    }
  });
});

describe("planner", () => {
  it("runs one search per (prompt, strategy, seed) to the largest budget", () => {
    const sweep = {
      prompts: ["a", "b", "c"], seeds: [0, 1], budgets: [5, 10, 40],
      strategies: [{ name: "random", label: "random" }, { name: "ses", label: "ses-big", popsize: 20, elites: 5, wavelet: "db1", level: 4 }],
    } as unknown as Sweep;
    const plan = planSweep(sweep);
    expect(plan.searches.length).toBe(3 * 2 * 2);
    expect(plan.trials).toBe(3 * 2 * 2 * 3);
    expect(plan.evaluations).toBe(12 * 40);
    expect(plan.evaluationsWithoutSharing).toBe(12 * 55);
    expect(new Set(plan.searches.map((s) => s.searchId)).size).toBe(12);
    expect(plan.searches[0]).toMatchObject({ searchId: "p0/random/s0", budget: 40, trialBudgets: [5, 10, 40] });
  });
});
