/**
 * A prompt longer than the text encoders take is truncated as the reference does, and said once:
 * once in the stderr of a worker whose two threads both encode it (each thread loads its own
 * evaluator), and once in `sweep run`'s output through its local worker. Real worker processes on
 * the synthetic tiny FLUX.2 model.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importTinyFlux2, runCli, tempDir } from "./cli.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const root = tempDir("sweep-truncation-");
const models = path.join(root, "models");
const config = path.join(root, "sweep.yaml");
const notice = /is longer than 512 Qwen tokens and 77 CLIP tokens: truncated as the reference does/g;

beforeAll(async () => {
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  const long = Array.from({ length: 600 }, (_, i) => `word${i}`).join(" ");
  // max_batch 1: four batches, so both threads of a two-thread worker encode the prompt
  writeFileSync(config, `name: long\nprompts: ["${long}"]\nseeds: [0]\nbudgets: [4]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1, steps: 1}\n`);
});

it("a worker of two threads says the truncation notice once", async () => {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2", "--model-root", models]);
  const r = await runCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, "external")]);
  expect(r.code, r.stderr).toBe(0);
  await w.stop();
  expect(w.stderr().match(notice)).toHaveLength(1);
});

it("sweep run's local worker: the notice once in the run's output", async () => {
  const r = await runCli(["run", config, "--model-root", models, "--threads", "2", "--run-dir", path.join(root, "local")]);
  expect(r.code, r.stderr).toBe(0);
  expect((r.stdout + r.stderr).match(notice)).toHaveLength(1);
});
