// Issue 10, defect 10 (first half): a wrong token or a TLS mismatch is not retried for
// --worker-wait seconds: the coordinator stops within seconds with exit 2 and the reason. And a
// TLS run to an IP address prints no DEP0123 warning (defect 11).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const yaml = `prompts: ["a"]
seeds: [0, 1]
budgets: [4]
strategies: [{ name: random }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

/** A self-signed certificate (its own CA) for these names. */
function certificate(dir: string, name: string, altNames: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
    "-subj", "/CN=localhost", "-addext", `subjectAltName=${altNames}`], { stdio: "ignore" });
  return { cert, key };
}

/** Runs a sweep that would wait 60 s for a worker; how long it took. */
async function runAgainst(workers: string, args: string[]) {
  const dir = sweepDir(yaml);
  const started = Date.now();
  const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", workers, "--worker-wait", "60", ...args], { cwd: dir });
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe("workers that refuse the coordinator fail the run fast, with the reason", () => {
  let certs: string;
  let good: { cert: string; key: string };
  let other: { cert: string; key: string };
  let tokenWorker: WorkerProcess;
  let tlsWorker: WorkerProcess;
  let plainWorker: WorkerProcess;

  beforeAll(async () => {
    certs = tempDir();
    good = certificate(certs, "worker", "DNS:localhost,IP:127.0.0.1");
    other = certificate(certs, "other", "DNS:localhost,IP:127.0.0.1");
    [tokenWorker, tlsWorker, plainWorker] = await Promise.all([
      startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"], { SWEEP_TOKEN: "s3cret" }),
      startWorkerProcess(["--listen", "0.0.0.0:0", "--threads", "1", "--tls-cert", good.cert, "--tls-key", good.key]),
      startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]),
    ]);
  });

  it("a wrong or missing token: exit 2 in seconds, naming the token; the right one runs", async () => {
    for (const args of [["--token", "wrong"], []]) {
      const r = await runAgainst(tokenWorker.address, args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.seconds).toBeLessThan(15);
      expect(r.stderr).toContain(`sweep: worker ${tokenWorker.address} cannot be used: wrong or missing token: pass the worker's token with --token or SWEEP_TOKEN\n`);
      expect(r.stderr).not.toMatch(/retrying/);
    }
    const ok = await runAgainst(tokenWorker.address, ["--token", "s3cret"]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("a certificate signed by another CA, or not naming the address: exit 2 in seconds with the reason", async () => {
    const untrusted = await runAgainst(`localhost:${tlsWorker.port}`, ["--tls-ca", other.cert]);
    expect(untrusted.code, untrusted.stderr).toBe(2);
    expect(untrusted.seconds).toBeLessThan(15);
    expect(untrusted.stderr).toContain(`sweep: worker localhost:${tlsWorker.port} cannot be used: its certificate is not trusted (self-signed certificate): is --tls-ca the CA that signed the worker's --tls-cert?\n`);

    const dir = tempDir();
    const named = certificate(dir, "named", "DNS:worker.example");
    const w = await startWorkerProcess(["--listen", "0.0.0.0:0", "--threads", "1", "--tls-cert", named.cert, "--tls-key", named.key]);
    const wrongName = await runAgainst(`127.0.0.1:${w.port}`, ["--tls-ca", named.cert]);
    expect(wrongName.code, wrongName.stderr).toBe(2);
    expect(wrongName.seconds).toBeLessThan(15);
    expect(wrongName.stderr).toMatch(/sweep: worker 127\.0\.0\.1:\d+ cannot be used: its certificate does not name this address \(Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list\): connect by a name or IP the certificate lists\n/);
    await w.stop();
  });

  it("TLS on one side only: exit 2 in seconds, saying which side speaks TLS", async () => {
    const tlsToPlain = await runAgainst(plainWorker.address, ["--tls-ca", good.cert]);
    expect(tlsToPlain.code, tlsToPlain.stderr).toBe(2);
    expect(tlsToPlain.seconds).toBeLessThan(15);
    expect(tlsToPlain.stderr).toContain(`sweep: worker ${plainWorker.address} cannot be used: it does not speak TLS: drop --tls-ca, or start the worker with --tls-cert and --tls-key\n`);

    const plainToTls = await runAgainst(`localhost:${tlsWorker.port}`, []);
    expect(plainToTls.code, plainToTls.stderr).toBe(2);
    expect(plainToTls.seconds).toBeLessThan(15);
    expect(plainToTls.stderr).toContain(`sweep: worker localhost:${tlsWorker.port} cannot be used: it serves TLS: pass --tls-ca with the CA of its certificate\n`);
  });

  it("a refusing worker among good ones is left out and the run goes on", async () => {
    const r = await runAgainst(`${tokenWorker.address},${plainWorker.address}`, ["--token", "wrong"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`[sweep] worker ${tokenWorker.address} cannot be used: wrong or missing token`);
  });

  it("a TLS run to an IP address prints no DEP0123 warning", async () => {
    const r = await runAgainst(`127.0.0.1:${tlsWorker.port}`, ["--tls-ca", good.cert]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/DEP0123|DeprecationWarning/);
  });
});
