/**
 * Nothing waits forever for a worker (real processes, real kills): the local worker killed with
 * SIGKILL is started again and the run completes with every evaluation once; a candidate that
 * kills every worker it reaches fails its search after its retries; named workers all gone stop the
 * run after --worker-wait as interrupted and resumable (exit 1); workers gone while the best images
 * render leave the run complete, and `sweep render --run RUN --best` renders them later.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importTinyFlux2, runCli, startCli, sweepDir, tempDir } from "./cli.js";
import { readCsv, readManifest, scoresByKey } from "./run-results.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const synthetic = "prompts: [a, b]\nseeds: [0, 1]\nbudgets: [12]\nstrategies: [{name: random}]\nevaluator: {kind: synthetic, shape: [1, 4, 8, 8], latency_ms: 100}\n";
const localPid = (output: string) => Number(/local worker \(pid (\d+)\) listening/.exec(output)![1]);

describe("the local worker", () => {
  it("is started again when it is killed mid-search; the run completes with every evaluation once", async () => {
    const dir = sweepDir(synthetic);
    const runDir = path.join(dir, "run");
    // the uninterrupted reference, beside it: without the latency, which changes no score
    const reference = path.join(dir, "whole");
    const whole = runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", reference, "--threads", "1", "--set", "evaluator.latency_ms=0"]);
    const run = startCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "1"], { timeoutMs: 60_000 });
    await run.waitFor(/evaluations on 1 worker/);
    await new Promise((r) => setTimeout(r, 800));
    try {
      process.kill(localPid(run.output()), "SIGKILL");
    } catch (e) {
      throw new Error(`${(e as Error).message}: ${run.output()}`);
    }
    const r = await run.done;
    expect(r.stderr).toMatch(/local worker \(pid \d+\) died \(SIGKILL\); starting a new one/);
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(runDir, "evaluations.csv");
    expect(scoresByKey(rows).size).toBe(48);
    expect(rows.every((x) => x.status === "ok")).toBe(true);
    expect((await whole).code).toBe(0);
    expect(scoresByKey(rows)).toEqual(scoresByKey(readCsv(reference, "evaluations.csv")));
  });

  it("a candidate that kills every worker it reaches fails its search after its retries; the run ends (exit 1)", async () => {
    const dir = tempDir();
    // prompt "poison" kills the worker process that scores it
    writeFileSync(path.join(dir, "objective.mjs"), "export default ({ noise, prompt }) => { if (prompt === 'poison') process.kill(process.pid, 'SIGKILL'); return noise[0]; };\n");
    writeFileSync(path.join(dir, "sweep.yaml"), "prompts: [poison]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: module, path: objective.mjs, shape: [1, 4, 8, 8], retries: 1}\n");
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "1"], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/p0\/random\/s0: eval 0: lost its worker 2 times/);
    expect(readManifest(runDir)).toMatchObject({ status: "failed" });
    // 2 attempts x 2 losses each, within the bound of restarts
    expect(r.stderr.match(/starting a new one/g)!.length).toBeLessThanOrEqual(8);
  });
});

describe("named workers", () => {
  it("all gone: the run stops after --worker-wait, interrupted and resumable, exit 1, saying why; --resume completes it", async () => {
    const dir = sweepDir(synthetic);
    const runDir = path.join(dir, "run");
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]);
    const run = startCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--workers", w.address, "--worker-wait", "2"], { timeoutMs: 60_000 });
    await run.waitFor(/evaluations on 1 worker/);
    await new Promise((r) => setTimeout(r, 800));
    const killed = Date.now();
    await w.stop();
    const r = await run.done;
    expect(Date.now() - killed).toBeLessThan(15_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/Run interrupted \(no worker was up for 2 s \(--worker-wait\): 127\.0\.0\.1:\d+ \(down: [^)]*\)\); \d+ evaluations recorded/);
    expect(r.stderr).toMatch(/Resume with: (npx )?sweep run .*--resume/);
    expect(readManifest(runDir)).toMatchObject({ status: "interrupted", error: expect.stringMatching(/^no worker was up for 2 s/) });

    const again = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]);
    const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir, "--workers", again.address, "--set", "evaluator.latency_ms=0", "--force"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(scoresByKey(readCsv(runDir, "evaluations.csv")).size).toBe(48);
    await again.stop();
  });
});

describe("the best images", () => {
  const root = tempDir("sweep-render-best-");
  const models = path.join(root, "models");
  const config = path.join(root, "sweep.yaml");
  beforeAll(async () => {
    await importTinyFlux2(path.join(models, "flux2-tiny"));
    writeFileSync(config, "name: best\nprompts: [a cat, a dog]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1, steps: 8}\n");
  });

  it("workers gone while they render leave the run complete, index.csv without those images, and sweep render --best renders them", async () => {
    const runDir = path.join(root, "run");
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models]);
    // the worker is killed as the render phase begins (renders take a while)
    const run = startCli(["run", config, "--run-dir", runDir, "--workers", w.address, "--worker-wait", "1"], { timeoutMs: 60_000 });
    await run.waitFor(/writing the best candidates/);
    w.child.kill("SIGKILL");
    const r = await run.done;
    await w.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(readManifest(runDir)).toMatchObject({ status: "completed" });
    expect(r.stderr).toMatch(/no worker was up for 1 s \(--worker-wait\).*; the best images not rendered yet are left for later/);
    expect(r.stderr).toMatch(/best images? missing from best\/ \(not rendered, or not written: the image cell in index\.csv is empty\); render (it|them) with: (npx )?sweep render --run \S+ --best --workers 127\.0\.0\.1:\d+/);
    const before = readCsv(path.join(runDir, "best"), "index.csv");
    expect(before.length).toBe(2);
    expect(before.some((row) => row.image === "")).toBe(true);

    const rendered = await runCli(["render", "--run", runDir, "--best", "--model-root", models, "--threads", "1"]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const after = readCsv(path.join(runDir, "best"), "index.csv");
    expect(after.map((row) => row.image)).toEqual(after.map((row) => `best/${row.image.split("/").pop()}`));
    expect(after.every((row) => row.image.endsWith(".png"))).toBe(true);
  });
});
