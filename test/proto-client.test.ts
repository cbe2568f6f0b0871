// A client built only from proto/ (no project code): what another language's client would do.
import { copyFileSync, readFileSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { loadReference, repoRoot } from "./reference.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

const definition = protoLoader.loadSync(["sweep/v1/worker.proto", "grpc/health/v1/health.proto"], {
  includeDirs: [path.join(repoRoot, "proto")], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
});
const pkg = grpc.loadPackageDefinition(definition) as any;
const traces = loadReference<{ traces: { seed: number; base_score: number; scores: number[] }[] }>("ses_traces_A.json").traces;

let worker: WorkerProcess;
let modelRoot: string;
beforeAll(async () => {
  modelRoot = tempDir();
  copyFileSync(path.join(repoRoot, "test/fixtures/objective-a.mjs"), path.join(modelRoot, "objective-a.mjs"));
  worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2", "--model-root", modelRoot]);
});
afterAll(killAllWorkers);

const evaluator = { kind: "module", shape: [1, 128, 64, 64], module_path: "objective-a.mjs" };

function evaluate(requests: object[]): Promise<any[]> {
  const client = new pkg.sweep.v1.Worker(worker.address, grpc.credentials.createInsecure());
  const call = client.Evaluate();
  const results: any[] = [];
  return new Promise((resolve, reject) => {
    call.on("data", (r: any) => results.push(r));
    call.on("end", () => resolve(results));
    call.on("error", reject);
    for (const r of requests) call.write(r);
    call.end();
  });
}

describe("a client generated only from proto/", () => {
  it("calls Describe", async () => {
    const client = new pkg.sweep.v1.Worker(worker.address, grpc.credentials.createInsecure());
    const info: any = await new Promise((resolve, reject) => client.Describe({}, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    expect(info.protocol).toBe("sweep.v1");
    expect(info.capacity).toBe(2);
    expect(info.devices).toEqual([{ id: "cpu", kind: "cpu", slots: 2, execution_provider: "cpu", runtime: expect.stringMatching(/^onnxruntime \d/), name: expect.any(String) }]);
    expect(info.evaluators).toContain("module");
  });

  it("calls the standard health service", async () => {
    const health = new pkg.grpc.health.v1.Health(worker.address, grpc.credentials.createInsecure());
    for (const service of ["", "sweep.v1.Worker"]) {
      const r: any = await new Promise((resolve, reject) => health.Check({ service }, (e: Error | null, x: unknown) => (e ? reject(e) : resolve(x))));
      expect(r.status).toBe("SERVING");
    }
  });

  it("streams random and SES recipes and gets the reference's scores back, ids echoed", async () => {
    // The SES candidate 0 of a trace is the base noise's high bands with the first row of
    // torch.randn(10, 2048) (same seed) as its low band; `sweep noise` writes those values.
    const dir = tempDir();
    const npy = path.join(dir, "z.npy");
    expect((await runCli(["noise", "--seed", "0", "--shape", "10,2048", "--out", npy])).code).toBe(0);
    const buf = readFileSync(npy);
    const body = buf.subarray(10 + buf.readUInt16LE(8));
    const z = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + 2048 * 4));
    const results = await evaluate([
      { evaluator, prompt: "objective A", prompt_index: 0, timeout_ms: 60000, candidates: [{ id: 11, random: { seed: 0 } }, { id: 12, random: { seed: 1 } }] },
      { evaluator, prompt: "objective A", prompt_index: 0, timeout_ms: 60000, candidates: [{ id: 13, ses: { base_seed: 0, wavelet: "db1", level: 4, low: Array.from(z) } }] },
    ]);
    const byId = new Map(results.map((r) => [r.candidate_id, r]));
    expect([...byId.keys()].sort()).toEqual([11, 12, 13]);
    for (const r of results) expect(r.ok, r.error).toBe(true);
    expect(Math.abs(byId.get(11).score - traces[0].base_score) / traces[0].base_score).toBeLessThan(1e-9);
    expect(Math.abs(byId.get(12).score - traces[1].base_score) / Math.abs(traces[1].base_score)).toBeLessThan(1e-9);
    expect(Math.abs(byId.get(13).score - traces[0].scores[0]) / Math.abs(traces[0].scores[0])).toBeLessThan(1e-9);
  });

  it("fails the evaluation of a deprecated tensor recipe, saying why, and evaluates the rest", async () => {
    const results = await evaluate([
      { evaluator, prompt: "objective A", prompt_index: 0, timeout_ms: 60000, candidates: [{ id: 21, tensor: { data: [0, 1, 2] } }, { id: 22, random: { seed: 0 } }] },
    ]);
    const byId = new Map(results.map((r) => [r.candidate_id, r]));
    expect(byId.get(21).ok).toBe(false);
    expect(byId.get(21).error).toMatch(/tensor recipe.*no strategy makes one/);
    expect(byId.get(22).ok, byId.get(22).error).toBe(true);
  });

  it("is refused a module path that escapes the model root", async () => {
    const results = await evaluate([{ evaluator: { ...evaluator, module_path: "../objective-a.mjs" }, prompt: "x", prompt_index: 0, timeout_ms: 1000, candidates: [{ id: 1, random: { seed: 0 } }] }]);
    expect(results).toHaveLength(1);
    expect(results[0].ok).toBe(false);
    expect(results[0].error).toMatch(/escapes the model root/);
    const absolute = await evaluate([{ evaluator: { ...evaluator, module_path: path.join(modelRoot, "objective-a.mjs") }, prompt: "x", prompt_index: 0, timeout_ms: 1000, candidates: [{ id: 2, random: { seed: 0 } }] }]);
    expect(absolute[0].error).toMatch(/must be relative/);
  });
});
