// Describe's `evaluators`: a worker that does not list the sweep's evaluator kind is refused when
// the coordinator connects, with a message naming the worker and the evaluator, instead of being
// sent candidates that all fail.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

const pkg = grpc.loadPackageDefinition(protoLoader.loadSync("sweep/v1/worker.proto", {
  includeDirs: [path.join(repoRoot, "proto")], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
})) as unknown as { sweep: { v1: { Worker: grpc.ServiceClientConstructor } } };

/** A worker of the current protocol whose Describe lists only `evaluators`; it counts the Evaluate calls it gets. */
async function workerRunning(evaluators: string[]): Promise<{ address: string; evaluateCalls: () => number; close: () => void }> {
  let calls = 0;
  const server = new grpc.Server();
  server.addService(pkg.sweep.v1.Worker.service, {
    Describe: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, {
      protocol: "sweep.v1", tool_version: "test", worker_id: "no-synthetic", capacity: 2,
      devices: [{ id: "cpu", kind: "cpu", slots: 2 }], evaluators, models: [], features: [],
    }),
    Evaluate: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      calls++;
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, evaluateCalls: () => calls, close: () => server.forceShutdown() };
}

const yaml = `prompts: ["a"]
seeds: [0, 1]
budgets: [4]
strategies: [{ name: random }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

describe("a worker without the sweep's evaluator", () => {
  let lacking: Awaited<ReturnType<typeof workerRunning>>;
  let real: WorkerProcess;

  beforeAll(async () => {
    lacking = await workerRunning(["noop", "module"]);
    real = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]);
  });
  afterAll(() => {
    lacking.close();
    killAllWorkers();
  });

  it("is refused at connect, naming it and the evaluator: exit 2 in seconds, nothing sent to it", async () => {
    const started = Date.now();
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", lacking.address, "--worker-wait", "60"], { cwd: sweepDir(yaml) });
    expect(r.code, r.stderr).toBe(2);
    expect((Date.now() - started) / 1000).toBeLessThan(15);
    expect(r.stderr).toContain(`sweep: worker ${lacking.address} cannot be used: it does not run the synthetic evaluator (its Describe lists: noop, module)\n`);
    expect(lacking.evaluateCalls()).toBe(0);
  });

  it("is left out among workers that have it, and the run completes on those", async () => {
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", `${lacking.address},${real.address}`], { cwd: sweepDir(yaml) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`[sweep] worker ${lacking.address} cannot be used: it does not run the synthetic evaluator`);
    expect(lacking.evaluateCalls()).toBe(0);
  });
});
