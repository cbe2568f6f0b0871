/**
 * Setup mistakes refused at once, before any run folder, naming what is wrong (exit 2): an empty
 * workers list (never a silent local worker), sizes and steps beyond their bounds (with the limit
 * and why), the real cause of a bad image size before what follows from it, and a --set that
 * makes an unknown field blamed on that --set, not on the YAML.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";

const synthetic = "prompts: [a]\nseeds: [0]\nbudgets: [4]\nstrategies: [{name: random}]\nevaluator: {kind: synthetic, shape: [1, 4, 8, 8]}\n";
const flux2 = "prompts: [a]\nseeds: [0]\nbudgets: [4]\nstrategies: [{name: random}, {name: ses}]\nevaluator: {kind: flux2-pickscore, model: m, height: 256, width: 256}\n";

describe("an empty workers list", () => {
  it.each([["--workers", ""], ["--workers", ","], ["--workers", " , "]])("%s '%s' is refused (exit 2), no run folder, no local worker", async (flag, value) => {
    const dir = sweepDir(synthetic);
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", path.join(dir, "sweep.yaml"), `${flag}=${value}`, "--run-dir", runDir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--workers: no workers in the list/);
    expect(existsSync(runDir)).toBe(false);
  });

  it("an empty --workers-file is refused (exit 2), naming the file", async () => {
    const dir = sweepDir(synthetic);
    writeFileSync(path.join(dir, "workers.txt"), "# none yet\n\n");
    const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--workers-file", path.join(dir, "workers.txt"), "--run-dir", path.join(dir, "run")]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--workers-file: .*workers\.txt names no workers/);
    expect(existsSync(path.join(dir, "run"))).toBe(false);
  });
});

describe("sizes and steps beyond their bounds", () => {
  it.each([
    [flux2, "evaluator.width=1048576", /evaluator\.width: at most 2048 pixels: FLUX\.2-klein makes images of up to about 4 megapixels/],
    [flux2, "evaluator.steps=100000", /evaluator\.steps: at most 1000: more steps change nothing/],
    [synthetic, "evaluator.shape=[1,4,65536,65536]", /evaluator\.shape: at most 16,777,216 values \(C x H x W\): each candidate's noise is that many float32s/],
  ])("%#: --set %s is refused with the limit and why", async (yaml, set, message) => {
    const dir = sweepDir(yaml);
    const r = await runCli(["plan", path.join(dir, "sweep.yaml"), "--set", set]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("messages that name the real cause", () => {
  it("height 250: not a multiple of 16, and no SES level error that follows from it", async () => {
    const dir = sweepDir(flux2);
    const r = await runCli(["plan", path.join(dir, "sweep.yaml"), "--set", "evaluator.height=250"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/height 250 is not a multiple of 16/);
    expect(r.stderr).not.toMatch(/level/);
  });

  it("--set a.b.c=1 is blamed on that --set, not on the YAML", async () => {
    const dir = sweepDir(synthetic);
    const r = await runCli(["plan", path.join(dir, "sweep.yaml"), "--set", "a.b.c=1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--set a\.b\.c=1: a: unknown field/);
  });
});

describe("the local worker's model root", () => {
  it("a --model-root that is not a folder is refused before a run folder exists (exit 2, one line)", async () => {
    const dir = sweepDir(synthetic);
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--model-root", path.join(dir, "nowhere"), "--run-dir", runDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sweep run: --model-root: ${path.join(dir, "nowhere")} is not a folder\n`);
    expect(existsSync(runDir)).toBe(false);
    const worker = await runCli(["worker", "--model-root", path.join(dir, "nowhere")]);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/^sweep: --model-root: .*nowhere is not a folder\n/);
  });
});
