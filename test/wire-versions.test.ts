// Mixed versions of the worker protocol, with real processes and sockets: the SES low band travels
// as raw float32 bytes (SesRecipe.low_f32le) only to workers whose Describe announces it, and a new
// worker still takes the repeated-float `low` of older coordinators. Scores are identical either way.
// The "old" side is built from proto/ with the new fields taken out, as an older checkout has it.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyntheticEvaluator } from "../src/evaluators/synthetic.js";
import { FEATURE_SES_LOW_F32LE } from "../src/grpc/wire.js";
import { NoiseFactory } from "../src/recipes/materialise.js";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { readCsv, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";
import type { NoiseShape } from "../src/domain/candidate.js";

const loadOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
type Pkg = { sweep: { v1: { Worker: grpc.ServiceClientConstructor } } };

const current = grpc.loadPackageDefinition(protoLoader.loadSync("sweep/v1/worker.proto", { ...loadOptions, includeDirs: [path.join(repoRoot, "proto")] })) as unknown as Pkg;

/** proto/ as a checkout from before the raw low band: the same file without the new fields (and recipes). */
function oldProto(): Pkg {
  const text = readFileSync(path.join(repoRoot, "proto/sweep/v1/worker.proto"), "utf8");
  const declaration = /^\s*(bytes low_f32le|repeated string features|ZeroOrderRecipe zero_order|EvolutionRecipe evolution)\s*=\s*\d+;.*$/gm;
  expect(text.match(declaration)).toHaveLength(4);
  const dir = tempDir();
  mkdirSync(path.join(dir, "sweep/v1"), { recursive: true });
  writeFileSync(path.join(dir, "sweep/v1/worker.proto"), text.replace(declaration, ""));
  return grpc.loadPackageDefinition(protoLoader.loadSync("sweep/v1/worker.proto", { ...loadOptions, includeDirs: [dir] })) as unknown as Pkg;
}

const shape: NoiseShape = [1, 16, 32, 32];
// db1 at level 3 on 32 x 32: a 4 x 4 low band per channel.
const LOW = 16 * 4 * 4;
const evaluator = { kind: "synthetic", shape: [...shape], latency_ms: 0, jitter_ms: 0 };

let worker: WorkerProcess;
let old: Pkg;
beforeAll(async () => {
  old = oldProto();
  worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "2"]);
});
afterAll(killAllWorkers);

function describeWorker(pkg: Pkg, address: string): Promise<any> {
  const client = new pkg.sweep.v1.Worker(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => client.Describe({}, (e: Error | null, r: unknown) => {
    client.close();
    return e ? reject(e) : resolve(r);
  }));
}

function evaluate(pkg: Pkg, address: string, requests: object[]): Promise<any[]> {
  const client = new pkg.sweep.v1.Worker(address, grpc.credentials.createInsecure());
  const call = (client as any).Evaluate();
  const results: any[] = [];
  return new Promise((resolve, reject) => {
    call.on("data", (r: any) => results.push(r));
    call.on("end", () => {
      client.close();
      resolve(results);
    });
    call.on("error", reject);
    for (const r of requests) call.write(r);
    call.end();
  });
}

interface SeenSes { floats: number; bytes: number }

/**
 * A worker of either version in front of the real one: Describe is the real worker's as `pkg`
 * encodes it (the old proto has no `features`), and every Evaluate request is decoded with `pkg`,
 * noted, and passed on as `pkg` encodes it; results come back unchanged. What an old worker cannot
 * read (low_f32le) is lost on the way, as it would be.
 */
async function versionedWorker(pkg: Pkg, upstream: string): Promise<{ address: string; seen: SeenSes[]; close: () => void }> {
  const seen: SeenSes[] = [];
  const server = new grpc.Server();
  server.addService(pkg.sweep.v1.Worker.service, {
    Describe: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      describeWorker(pkg, upstream).then((info) => callback(null, info), (e) => callback(e));
    },
    Evaluate: (call: grpc.ServerDuplexStream<any, any>) => {
      const client = new pkg.sweep.v1.Worker(upstream, grpc.credentials.createInsecure());
      const up = (client as any).Evaluate() as grpc.ClientDuplexStream<any, any>;
      up.on("data", (r) => call.write(r));
      up.on("end", () => {
        call.end();
        client.close();
      });
      up.on("error", () => call.destroy());
      call.on("data", (req) => {
        for (const c of req.candidates) if (c.ses) seen.push({ floats: c.ses.low.length, bytes: c.ses.low_f32le?.length ?? 0 });
        up.write(req);
      });
      call.on("end", () => up.end());
      call.on("cancelled", () => up.cancel());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, seen, close: () => server.forceShutdown() };
}

describe("the SES low band across protocol versions", () => {
  it("a new worker announces the raw low band; an old client reads its Describe all the same", async () => {
    expect((await describeWorker(current, worker.address)).features).toContain(FEATURE_SES_LOW_F32LE);
    const info = await describeWorker(old, worker.address);
    expect(info.protocol).toBe("sweep.v1");
    expect(info.features).toBeUndefined();
  });

  it("serves an old coordinator's repeated-float low band with the scores of the raw bytes", async () => {
    const lows = [0, 1, 2].map((k) => Float32Array.from({ length: LOW }, (_, i) => Math.sin(1 + i * (k + 1)) * 1.7 - 0.3 * k));
    const request = (form: (low: Float32Array) => object) => ({
      evaluator, prompt: "a lighthouse at dawn", prompt_index: 1, timeout_ms: 60_000,
      candidates: lows.map((low, k) => ({ id: 100 + k, ses: { base_seed: 7 + k, wavelet: "db1", level: 3, ...form(low) } })),
    });
    const floats = await evaluate(old, worker.address, [request((low) => ({ low: Array.from(low) }))]);
    const bytes = await evaluate(current, worker.address, [request((low) => ({ low_f32le: Buffer.from(low.buffer, low.byteOffset, low.byteLength) }))]);
    const byId = (rs: any[]) => new Map(rs.map((r) => [r.candidate_id, r]));
    const [f, b] = [byId(floats), byId(bytes)];
    const noise = new NoiseFactory();
    const synthetic = new SyntheticEvaluator({ latency_ms: 0, jitter_ms: 0 });
    for (const [k, low] of lows.entries()) {
      const id = 100 + k;
      expect(f.get(id)?.ok, f.get(id)?.error).toBe(true);
      expect(b.get(id)?.ok, b.get(id)?.error).toBe(true);
      expect(f.get(id).score).toBe(b.get(id).score);
      const expected = await synthetic.score({ noise: noise.materialise({ kind: "ses", baseSeed: 7 + k, wavelet: "db1", level: 3, low }, shape), shape, prompt: "a lighthouse at dawn", promptIndex: 1 });
      expect(f.get(id).score).toBe(expected);
    }
  });

  it("a new coordinator sends the old field to a worker that does not announce the new one, and the raw bytes to one that does: same scores", async () => {
    const yaml = `name: versions
prompts: ["a cat", "a lighthouse at dawn"]
seeds: [0, 1]
budgets: [6, 24]
strategies:
  - name: random
  - name: ses
    popsize: 6
    elites: 3
    level: 3
evaluator:
  kind: synthetic
  shape: [${shape.join(", ")}]
`;
    const oldWorker = await versionedWorker(old, worker.address);
    const newWorker = await versionedWorker(current, worker.address);
    const runs = [oldWorker.address, newWorker.address, worker.address].map(() => sweepDir(yaml));
    const results = await Promise.all([oldWorker.address, newWorker.address, worker.address].map((address, i) =>
      runCli(["run", path.join(runs[i], "sweep.yaml"), "--run-dir", path.join(runs[i], "run"), "--workers", address], { cwd: runs[i] })));
    oldWorker.close();
    newWorker.close();
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // 2 prompts x 2 seeds x 24 SES evaluations, each through its worker at least once.
    expect(oldWorker.seen.length).toBeGreaterThanOrEqual(96);
    expect(oldWorker.seen.every((s) => s.floats === LOW && s.bytes === 0)).toBe(true);
    expect(newWorker.seen.length).toBeGreaterThanOrEqual(96);
    expect(newWorker.seen.every((s) => s.floats === 0 && s.bytes === 4 * LOW)).toBe(true);
    const [viaOld, viaNew, direct] = runs.map((dir) => readCsv(path.join(dir, "run"), "evaluations.csv"));
    expect(viaOld.filter((r) => r.status !== "ok")).toEqual([]);
    expect(viaOld).toHaveLength(2 * 2 * 2 * 24);
    expect(scoresByKey(viaOld)).toEqual(scoresByKey(direct));
    expect(scoresByKey(viaNew)).toEqual(scoresByKey(direct));
  });
});

describe("zero-order and evolution recipes across protocol versions", () => {
  it("a worker from before them fails such a candidate, saying so; a new coordinator does not use such a worker for them", async () => {
    const request = { evaluator, prompt: "a cat", prompt_index: 0, timeout_ms: 60_000, candidates: [{ id: 7, zero_order: { pivot_seed: 1, run_seed: 1, threshold: 0.9, rounds: [0], neighbors: [1] } }, { id: 8, random: { seed: 3 } }] };
    const viaOld = await versionedWorker(old, worker.address);
    const results = new Map((await evaluate(current, viaOld.address, [request])).map((r) => [r.candidate_id, r]));
    expect(results.get(7)).toMatchObject({ ok: false, error: expect.stringMatching(/^candidate 7 has no recipe this worker knows/) });
    expect(results.get(8)?.ok).toBe(true);
    const yaml = `name: versions
prompts: ["a cat"]
seeds: [0]
budgets: [6]
strategies: [{ name: random }, { name: zero-order }]
evaluator: { kind: synthetic, shape: [${shape.join(", ")}] }
`;
    const dir = sweepDir(yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", viaOld.address, "--worker-wait", "5"], { cwd: dir });
    viaOld.close();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`worker ${viaOld.address}`);
    expect(r.stderr).toMatch(/does not take the recipes of this sweep's strategies \(its Describe lacks zero_order_recipe: a worker of an older version\?\)/);
    const direct = sweepDir(yaml);
    const ok = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", worker.address], { cwd: direct });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
