/**
 * onnxruntime work cut off without killing the worker (issue: terminating a thread inside
 * onnxruntime aborted the process with Napi::Error, exit 134): a flux2 batch past its timeout fails
 * and the worker serves the next run; a batch inside one long graph run (which nothing can cut
 * short) has its thread replaced; a drain deadline that expires mid-batch exits 0 and a second
 * SIGTERM exits 143, both at once. Real worker processes on the synthetic tiny FLUX.2 model.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { exitNowMissing } from "../src/worker/exit-now.js";
import { importTinyFlux2, runCli, startCli, tempDir } from "./cli.js";
import { needAddon } from "./native-addon.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const root = tempDir("sweep-cut-off-");
const models = path.join(root, "models");
const config = path.join(root, "sweep.yaml");
/** One candidate: one batch, so nothing else of its run waits for the slot. */
const oneCandidate = path.join(root, "one.yaml");

beforeAll(async () => {
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  writeFileSync(config, "name: cut\nprompts: [a cat]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1}\n");
  writeFileSync(oneCandidate, "name: one\nprompts: [a cat]\nseeds: [0]\nbudgets: [1]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 1024, width: 1024, steps: 16, max_batch: 4, timeout_s: 0.25, retries: 0}\n");
});

const exitOf = (w: WorkerProcess) => new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve({ code: w.child.exitCode, signal: w.child.signalCode });
  w.child.once("exit", (code, signal) => resolve({ code, signal }));
});

/** One batch as one graph run of many seconds here: 16 steps (unrolled) at 1024 x 1024, two rows. */
const LONG_RUN = ["--set", "evaluator.steps=16", "--set", "evaluator.height=1024", "--set", "evaluator.width=1024", "--set", "evaluator.max_batch=2"];

/** A worker busy with one long graph run from a coordinator. */
async function busyWorker(extra: string[] = []) {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models, "--preload", "flux2-tiny", ...extra]);
  await w.waitForLog(/ready/);
  const run = startCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, `busy-${w.port}`), ...LONG_RUN, "--worker-wait", "5"]);
  await run.waitFor(/evaluations on 1 worker/);
  // the 16-step graph loads (under a second), then the batch's one run starts
  await new Promise((r) => setTimeout(r, 3000));
  return { w, run };
}

it("a flux2 batch past its timeout fails, and the worker lives on to serve the next run", async () => {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models]);
  const slow = await runCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, "slow"), "--set", "evaluator.steps=1000", "--set", "evaluator.timeout_s=0.5", "--set", "evaluator.retries=0"], { timeoutMs: 60_000 });
  expect(slow.stderr).toMatch(/timed out after 0\.5 s/);
  expect(slow.code).toBe(1);
  expect(w.stderr()).not.toMatch(/Napi::Error|terminate called/);
  expect(w.child.exitCode).toBeNull();
  const next = await runCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, "next")], { timeoutMs: 60_000 });
  expect(next.code, next.stderr).toBe(0);
  await w.stop();
});

it("a batch inside one long graph run past its timeout: a new thread takes its slot and serves the next run while the old run goes on", async () => {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models]);
  // padded to 4 rows: one graph run of well over 10 s here
  const stuck = await runCli(["run", oneCandidate, "--workers", w.address, "--run-dir", path.join(root, "stuck")], { timeoutMs: 60_000 });
  expect(stuck.stderr).toMatch(/timed out after 1 s/);
  expect(stuck.code).toBe(1);
  await w.waitForLog(/a new thread takes its slot/, 10_000);
  const next = await runCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, "after-stuck")], { timeoutMs: 60_000 });
  expect(next.code, next.stderr).toBe(0);
  // served by the new thread before the old run came back
  expect(w.stderr(), w.stderr()).not.toMatch(/the replaced thread's run returned|slot frees when the run returns/);
  await w.waitForLog(/the replaced thread's run returned [\d.]+ s after its replacement; that thread has exited/);
  expect(w.stderr()).not.toMatch(/Napi::Error|terminate called/);
  const again = await runCli(["run", config, "--workers", w.address, "--run-dir", path.join(root, "after-exit")], { timeoutMs: 60_000 });
  expect(again.code, again.stderr).toBe(0);
  await w.stop();
});

it("a drain deadline that expires inside one long graph run fails it back and exits 0 without waiting for the run", async (ctx) => {
  needAddon(ctx, exitNowMissing);
  const { w, run } = await busyWorker(["--drain-timeout", "0.2"]);
  const started = Date.now();
  w.child.kill("SIGTERM");
  expect(await exitOf(w)).toEqual({ code: 0, signal: null });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(w.stderr()).toMatch(/drain timeout: \d+ failed back/);
  expect(w.stderr()).toMatch(/exiting while a model batch is still inside onnxruntime/);
  expect(w.stderr()).not.toMatch(/Napi::Error/);
  run.child.kill("SIGTERM");
  await run.done;
});

it("a second SIGTERM inside one long graph run exits at once with 143", async (ctx) => {
  needAddon(ctx, exitNowMissing);
  const { w, run } = await busyWorker(["--drain-timeout", "60"]);
  w.child.kill("SIGTERM");
  await w.waitForLog(/draining: [1-9]\d* in flight/);
  const started = Date.now();
  w.child.kill("SIGTERM");
  expect(await exitOf(w)).toEqual({ code: 143, signal: null });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(w.stderr()).toMatch(/exiting while a model batch is still inside onnxruntime/);
  expect(w.stderr()).not.toMatch(/Napi::Error/);
  run.child.kill("SIGTERM");
  await run.done;
});

it("a second SIGTERM while --preload loads and warms the model exits 143, not 134", async () => {
  const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models, "--preload", "flux2-tiny"]);
  // the warm-up batch (1024 x 1024) is running inside onnxruntime
  await new Promise((r) => setTimeout(r, 400));
  w.child.kill("SIGTERM");
  await w.waitForLog(/drained in/);
  w.child.kill("SIGTERM");
  expect(await exitOf(w)).toEqual({ code: 143, signal: null });
  expect(w.stderr()).not.toMatch(/Napi::Error|ready/);
});
