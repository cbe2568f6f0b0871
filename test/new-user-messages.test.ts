/**
 * What a new user meets, said plainly (real processes): bfloat16 on the CPU refused before any
 * run folder; a truncated prompt said once by sweep run; a missing GPU in one line, no raw
 * onnxruntime log; a hand-edited model manifest refused; sweep render finding the model where the
 * run found it; the resume command printed as the tool was invoked (npx sweep under npx).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { importTinyFlux2, runCli, startCli, sweepDir, tempDir } from "./cli.js";

const root = tempDir("sweep-new-user-");
const models = path.join(root, "models");
const config = path.join(root, "sweep.yaml");

beforeAll(async () => {
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  writeFileSync(config, "prompts: [a cat]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1}\n");
});

describe("flux2 setups", () => {
  it("precision bfloat16 on the local (CPU) worker is refused before a run folder exists, without suggesting a resume", async () => {
    const runDir = path.join(root, "bf16");
    const r = await runCli(["run", config, "--model-root", models, "--run-dir", runDir, "--set", "evaluator.precision=bfloat16"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/evaluator\.precision: precision bfloat16 needs a GPU worker: the local worker runs on the CPU/);
    expect(r.stderr).not.toMatch(/resume/i);
    expect(existsSync(runDir)).toBe(false);
  });

  it("a prompt longer than the tokenizers take is said once by sweep run, whatever the threads", async () => {
    const long = Array.from({ length: 600 }, () => "word").join(" ");
    const r = await runCli(["run", config, "--model-root", models, "--run-dir", path.join(root, "long"), "--threads", "2", "--set", `prompts=[${JSON.stringify(long)}]`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/is longer than 512 Qwen tokens and 77 CLIP tokens: truncated/g)).toHaveLength(1);
  });

  it("sweep render --device 1 on a machine without its CUDA provider: one line, no raw onnxruntime log", async () => {
    const runDir = path.join(root, "for-render");
    expect((await runCli(["run", config, "--model-root", models, "--run-dir", runDir, "--threads", "1"])).code).toBe(0);
    const r = await runCli(["render", "--run", runDir, "--search", "p0/random/s0", "--eval", "0", "--out", path.join(root, "gpu.png"), "--device", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/onnxruntime:|\[E:/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/GPU 1: the CUDA execution provider cannot start/);
  });

  it("sweep render without --model-root finds the model where the run found it", async () => {
    const runDir = path.join(root, "for-render");
    const out = path.join(root, "cand.png");
    // from another folder, the config's folder holding no model
    const r = await runCli(["render", "--run", runDir, "--search", "p0/random/s0", "--eval", "1", "--out", out], { cwd: tempDir(), env: { SWEEP_MODEL_ROOT: "" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*cand\.png: p0\/random\/s0 eval 1 .*\(as recorded\)/);
  });

  it("a model manifest edited by hand is refused, naming it", async () => {
    const edited = path.join(root, "edited");
    await importTinyFlux2(path.join(edited, "flux2-tiny"));
    const file = path.join(edited, "flux2-tiny", "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    manifest.constants.clip_max_length = 7;
    writeFileSync(file, JSON.stringify(manifest, null, 1));
    const r = await runCli(["run", config, "--model-root", edited, "--run-dir", path.join(root, "edited-run"), "--threads", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: changed since import (its content no longer matches its digest)`);
  });
});

describe("the printed resume command", () => {
  it.each([["exec", "npx sweep run"], ["", "sweep run"]])("with npm_command '%s' it reads '%s ...'", async (npmCommand, printed) => {
    const dir = sweepDir("prompts: [a]\nseeds: [0]\nbudgets: [50]\nstrategies: [{name: random}]\nevaluator: {kind: synthetic, shape: [1, 4, 8, 8], latency_ms: 50}\n");
    const run = startCli(["run", path.join(dir, "sweep.yaml"), "--run-dir", path.join(dir, "run"), "--threads", "1"], { env: { npm_command: npmCommand } });
    await run.waitFor(/evaluations on 1 worker/);
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.stderr).toMatch(new RegExp(`\\nResume with: ${printed} `));
  });
});
