import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { readCsv, readManifest } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(["sweep/v1/worker.proto", "grpc/health/v1/health.proto"], {
  includeDirs: [path.join(repoRoot, "proto")], keepCase: true, longs: Number, enums: String, defaults: true,
})) as any;

const yaml = `prompts: ["a"]
seeds: [0, 1]
budgets: [4]
strategies: [{ name: random }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

function unary(client: any, method: string, req: object, md = new grpc.Metadata()): Promise<any> {
  return new Promise((resolve, reject) => client[method](req, md, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
}

describe("worker security", () => {
  it("rejects calls without the shared token with UNAUTHENTICATED and logs them; health answers without it", async () => {
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"], { SWEEP_TOKEN: "s3cret" });
    const worker = new pkg.sweep.v1.Worker(w.address, grpc.credentials.createInsecure());
    const health = new pkg.grpc.health.v1.Health(w.address, grpc.credentials.createInsecure());
    await expect(unary(worker, "Describe", {})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // a kubelet's gRPC probe sends no metadata; the status is all health reveals
    expect(await unary(health, "Check", { service: "" })).toEqual({ status: "SERVING" });
    expect(await unary(health, "Check", { service: "sweep.v1.Worker" })).toEqual({ status: "SERVING" });
    expect(w.stderr()).not.toMatch(/rejected \/grpc\.health/);
    const wrong = new grpc.Metadata();
    wrong.set("authorization", "Bearer nope");
    await expect(unary(worker, "Describe", {}, wrong)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const right = new grpc.Metadata();
    right.set("authorization", "Bearer s3cret");
    expect((await unary(worker, "Describe", {}, right)).protocol).toBe("sweep.v1");
    expect(w.stderr()).toMatch(/rejected \/sweep\.v1\.Worker\/Describe: missing or wrong token \(UNAUTHENTICATED\)/);

    const dir = sweepDir(yaml);
    const denied = await runCli(["run", "sweep.yaml", "--run-dir", "denied", "--workers", w.address, "--worker-wait", "3"], { cwd: dir });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/cannot be used: wrong or missing token/);
    expect(readManifest(path.join(dir, "denied")).status).toBe("failed");
    const allowed = await runCli(["run", "sweep.yaml", "--run-dir", "allowed", "--workers", w.address, "--token", "s3cret"], { cwd: dir });
    expect(allowed.code, allowed.stderr).toBe(0);
    await w.stop();
  });

  it("refuses to listen beyond loopback without a token, TLS or --insecure", async () => {
    const r = await runCli(["worker", "--listen", "0.0.0.0:0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:0 without protection.*--token.*--tls-cert.*--insecure/s);
    const open = await startWorkerProcess(["--listen", "0.0.0.0:0", "--insecure", "--threads", "1"]);
    expect(open.port).toBeGreaterThan(0);
    const withToken = await startWorkerProcess(["--listen", "0.0.0.0:0", "--token", "t", "--threads", "1"]);
    expect(withToken.port).toBeGreaterThan(0);
    await Promise.all([open.stop(), withToken.stop()]);
  });

  it("serves TLS, and a coordinator with the CA runs a sweep over it", async () => {
    const dir = tempDir();
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
    const w = await startWorkerProcess(["--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key, "--threads", "1"]);
    writeFileSync(path.join(dir, "sweep.yaml"), yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", `localhost:${w.port}`, "--tls-ca", cert], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readCsv(path.join(dir, "run"), "evaluations.csv")).toHaveLength(8);
    const plain = await runCli(["run", "sweep.yaml", "--run-dir", "plain", "--workers", `localhost:${w.port}`, "--worker-wait", "2"], { cwd: dir });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/cannot be used: it serves TLS/);
    await w.stop();
  });

  it("refuses a module path escaping the sweep's folder (the local worker's model root)", async () => {
    // The folder above the sweep's is a temporary one too (removed with it), not /tmp itself.
    const dir = path.join(tempDir(), "sweep");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "..", "outside.mjs"), "export default () => 1;\n");
    writeFileSync(path.join(dir, "sweep.yaml"), yaml.replace("{ kind: synthetic, shape: [1, 4, 16, 16] }", "{ kind: module, path: ../outside.mjs, shape: [1, 4, 16, 16] }"));
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/evaluator\.path: module path must be relative and inside the sweep file's folder/);
  });
});
