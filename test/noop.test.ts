import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { readCsv } from "./run-results.js";

describe("noop evaluator (for measuring the runner)", () => {
  it("scores random candidates from their seed alone, as documented", async () => {
    const dir = sweepDir(`prompts: ["a", "b"]
seeds: [3]
budgets: [20]
strategies: [{ name: random }, { name: ses }]
evaluator: { kind: noop }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(path.join(dir, "run"), "evaluations.csv");
    expect(rows).toHaveLength(2 * 2 * 20);
    // score = (SplitMix64 output (prompt_index + 1) seeded with the noise seed) >> 11, / 2^53
    const M = (1n << 64n) - 1n;
    const unit = (seed: number, k: number) => {
      let z = (BigInt(seed) + BigInt(k) * 0x9e3779b97f4a7c15n) & M;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
      return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
    };
    for (const row of rows.filter((x) => x.strategy === "random")) {
      expect(Number(row.score)).toBe(unit(Number(row.noise_seed), Number(row.prompt_index) + 1));
    }
  });

  it("travels in large batches (cheap evaluations), while costly ones keep a shallow window", async () => {
    const requestsPerCandidate = async (evaluator: string) => {
      const dir = sweepDir(`prompts: ["a"]\nseeds: [1, 2]\nbudgets: [300]\nstrategies: [{ name: random }]\nevaluator: ${evaluator}\n`);
      const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir, env: { SWEEP_MEASURE_WIRE: "1" } });
      expect(r.code, r.stderr).toBe(0);
      const wire = JSON.parse(readFileSync(path.join(dir, "run", "manifest.json"), "utf8")).executor.wire;
      expect(wire.candidates).toBe(600);
      return wire.requests / wire.candidates;
    };
    expect(await requestsPerCandidate("{ kind: noop }")).toBeLessThan(0.1);
    expect(await requestsPerCandidate("{ kind: synthetic, latency_ms: 5, shape: [1, 4, 8, 8] }")).toBeGreaterThan(0.4);
  });
});
