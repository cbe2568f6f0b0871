import { realpathSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { torchRandn } from "../src/noise/torch-generator.js";
import { tempDir } from "./cli.js";
import type { EvaluatorSpec } from "../src/domain/sweep.js";
import type { EvaluationTask } from "../src/domain/outcome.js";

// The pool starts threads from the built file (dist/), as a worker does.
const { DevicePool, threadEntry } = (await import("../dist/worker/device-pool.js")) as unknown as typeof import("../src/worker/device-pool.js");
const { EvaluationError } = (await import("../dist/domain/outcome.js")) as unknown as typeof import("../src/domain/outcome.js");

const shape = [1, 4, 8, 8] as const;

function moduleEvaluator(source: string): EvaluatorSpec {
  // A real path, as a worker's model root gives (modules are imported by their real path only).
  const file = path.join(realpathSync(tempDir()), "objective.mjs");
  writeFileSync(file, source);
  return { kind: "module", shape: [...shape], path: file, module_path: "objective.mjs", module_sha256: "" };
}

const task = (evaluator: EvaluatorSpec, seed: number, promptIndex = 0): EvaluationTask =>
  ({ evaluator, prompt: "p", promptIndex, recipe: { kind: "random", seed } });

describe("a device pool", () => {
  it("runs cheap evaluations in batches per thread task, each with its own score", async () => {
    const evaluator = moduleEvaluator("export default ({ noise }) => noise[0];");
    const pool = new DevicePool(2, "cpu");
    const signal = new AbortController().signal;
    try {
      // The first results tell the pool how cheap an evaluation is; until then one per task.
      for (let seed = 0; seed < 4; seed++) await pool.evaluate(task(evaluator, seed), { signal, timeoutMs: 10_000 });
      expect(pool.tasks).toBe(4);
      const seeds = Array.from({ length: 200 }, (_, i) => 100 + i);
      const results = await Promise.all(seeds.map((seed) => pool.evaluate(task(evaluator, seed), { signal, timeoutMs: 10_000 })));
      expect(results.map((r) => r.score)).toEqual(seeds.map((seed) => torchRandn(seed, 256)[0]));
      expect(pool.tasks - 4).toBeLessThan(200 / 8);
    } finally {
      await pool.close();
    }
  });

  it("fails only the evaluation at fault when one in a batch throws, crashes its thread or hangs", async () => {
    const evaluator = moduleEvaluator(`export default ({ noise, promptIndex }) => {
  if (promptIndex === 5) throw new Error("bad prompt five");
  if (promptIndex === 6) process.exit(3);
  if (promptIndex === 7) for (;;);
  return noise[0];
};`);
    const pool = new DevicePool(1, "cpu");
    const signal = new AbortController().signal;
    try {
      for (let seed = 0; seed < 30; seed++) await pool.evaluate(task(evaluator, seed), { signal, timeoutMs: 1500 });
      // A batch of 30 where one throws (fails alone) and one exits the thread (the batch is rerun one by one).
      const round = async (faults: Record<number, number>) => {
        const seeds = Array.from({ length: 30 }, (_, i) => 100 + i);
        const settled = await Promise.allSettled(seeds.map((seed, i) => pool.evaluate(task(evaluator, seed, faults[i] ?? 0), { signal, timeoutMs: 1500 })));
        settled.forEach((s, i) => {
          if (s.status === "fulfilled") expect(s.value.score).toBe(torchRandn(seeds[i], 256)[0]);
          else expect(s.reason).toBeInstanceOf(EvaluationError);
        });
        return { failed: settled.flatMap((s, i) => (s.status === "rejected" ? [`${i}: ${(s.reason as Error).message}`] : [])) };
      };
      const faulty = await round({ 10: 5, 20: 6 });
      expect(faulty.failed).toEqual(["10: bad prompt five", expect.stringMatching(/^20: /)]);
      // One that hangs: the batch times out, is rerun one by one, and only the hanging one times out.
      const started = performance.now();
      expect((await round({ 25: 7 })).failed).toEqual(["25: timed out after 1.5 s"]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(3000);
    } finally {
      await pool.close();
    }
  });

  it("starts threads from a CommonJS entry, so no thread loads the ES module thread through require()", () => {
    // From Node 20.19 piscina's require() of an ES module loads it synchronously, and a thread
    // terminated inside that load (a worker closing as its threads start) aborts the process.
    const entry = fileURLToPath(threadEntry);
    const probe = `const handler = require(${JSON.stringify(entry)});
      const loaded = Object.keys(require.cache).filter((f) => f !== ${JSON.stringify(entry)});
      console.log(JSON.stringify({ handler: typeof handler, loaded }));`;
    const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ handler: "function", loaded: [] });
  });
});
