import { describe, expect, test } from "vitest";
import { evaluatorLine, runWarnings } from "../src/report/run-notes.js";
import type { Manifest } from "../src/results/manifest.js";

const cpu = { id: "cpu", execution_provider: "cpu", runtime: "onnxruntime 1.29.0", name: "Xeon" };
const gpu = { id: "0", execution_provider: "cuda", runtime: "onnxruntime 1.29.0", name: "NVIDIA H200" };
const manifest = (workers: unknown[]) => ({ executor: { kind: "grpc", workers } }) as unknown as Manifest;

describe("report notes", () => {
  test("one kind of device, real weights: no warning", () => {
    expect(runWarnings(manifest([{ completed: 5, devices: [gpu], models: [{ name: "flux2-klein-4b", sha256: "x", synthetic: "" }] }, { completed: 3, devices: [gpu] }]))).toEqual([]);
  });

  test("devices of different kinds that both computed scores are named", () => {
    const [w] = runWarnings(manifest([{ completed: 5, devices: [gpu] }, { completed: 3, devices: [cpu] }]));
    expect(w).toMatch(/mixed devices of different kinds \(cuda \/ onnxruntime 1\.29\.0 \/ NVIDIA H200; cpu \/ onnxruntime 1\.29\.0 \/ Xeon\)/);
  });

  test("a worker that computed nothing does not count as mixing", () => {
    expect(runWarnings(manifest([{ completed: 5, devices: [gpu] }, { completed: 0, devices: [cpu] }]))).toEqual([]);
  });

  test("a synthetic model is said", () => {
    const [w] = runWarnings(manifest([{ completed: 5, devices: [cpu], models: [{ name: "flux2-tiny", sha256: "x", synthetic: "flux2-tiny" }] }]));
    expect(w).toMatch(/synthetic models with random weights: flux2-tiny \(flux2-tiny\)/);
  });

  test("the evaluator line names model, size, steps, score convention and precision", () => {
    expect(evaluatorLine({ kind: "flux2-pickscore", shape: [1, 128, 64, 64], model: "m", height: 1024, width: 1024, steps: 4, score: "logit", precision: "bfloat16", max_batch: 4 }))
      .toBe("Evaluator: flux2-pickscore, model m, 1024x1024, 4 steps, score logit (x exp(logit_scale)), precision bfloat16.");
  });
});
