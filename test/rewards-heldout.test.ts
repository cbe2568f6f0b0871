/**
 * The held-out check end to end (acceptance 2 of the rewards): a flux2-tiny sweep at 256x256 on a
 * `sweep worker` process over gRPC, optimising one tiny reward with two others held out, writes
 * heldout.csv (one row per trial, budget and reward, plus the base noises) and the report's
 * held-out table and plot (read in headless Chromium); `sweep rescore` on the same run with
 * heldout.csv removed writes the same file, and adds ImageReward's rows when asked. Bad input: one
 * line each, exit 2.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";
import { goldenImages, imageMetricsDir, writeRgbPng } from "./rewards-reference.js";
import { readCsv } from "./run-results.js";
import { killAllWorkers, startWorkerProcess, type WorkerProcess } from "./workers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = tempDir("sweep-heldout-");
const models = path.join(root, "models");
const runDir = path.join(root, "run");
let worker: WorkerProcess;

function sweepFile(name: string, evaluatorExtra: string[]): string {
  const file = path.join(root, `${name}.yaml`);
  writeFileSync(file, [
    `name: ${name}`,
    'prompts: ["sketch, a cat", "a lighthouse at dawn"]',
    "seeds: [0, 1]",
    "budgets: [2, 4]",
    "strategies:",
    "  - name: random",
    "  - name: ses",
    "    popsize: 2",
    "    elites: 1",
    "    level: 2",
    "evaluator:",
    "  kind: flux2-pickscore",
    "  model: flux2-tiny",
    "  height: 256",
    "  width: 256",
    "  max_batch: 1",
    ...evaluatorExtra.map((l) => `  ${l}`),
  ].join("\n"));
  return file;
}

beforeAll(async () => {
  const imports = [
    runCli(["models", "import", "--synthetic", "flux2-tiny", "--out", path.join(models, "flux2-tiny")]),
    runCli(["models", "import", "--reward", "clip", "--from", path.join(imageMetricsDir, "CLIP-ViT-H-14-laion2B-s32B-b79K"), "--out", path.join(models, "clip-tiny")]),
    runCli(["models", "import", "--reward", "hpsv2", "--from", path.join(imageMetricsDir, "HPSv2"), "--out", path.join(models, "hpsv2-tiny")]),
    runCli(["models", "import", "--reward", "aesthetic", "--from", path.join(imageMetricsDir, "Aesthetic"), "--out", path.join(models, "aesthetic-tiny")]),
    runCli(["models", "import", "--reward", "imagereward", "--from", path.join(imageMetricsDir, "ImageReward"), "--out", path.join(models, "imagereward-tiny")]),
  ];
  for (const r of await Promise.all(imports)) expect(r.code, r.stderr).toBe(0);
  worker = await startWorkerProcess(["--listen", "127.0.0.1:0", "--model-root", models, "--threads", "2"]);
}, 120_000);

afterAll(killAllWorkers);

describe("held-out rewards on a gRPC worker", () => {
  const heldout = ["hpsv2-tiny", "aesthetic-tiny"];
  let rows: Record<string, string>[];

  it("configs/tiny-flux2-heldout.yaml, climbing evaluator.reward, writes heldout.csv: one row per trial, budget and held-out reward, and the base noises", async () => {
    // the shipped config (held-out hpsv2-tiny and aesthetic-tiny), smaller budgets, and the CLIP reward as the objective
    const r = await runCli(["run", path.join(repoRoot, "configs/tiny-flux2-heldout.yaml"), "--set", "budgets=[2,4]", "--set", "evaluator.reward=clip-tiny", "--run-dir", runDir, "--workers", worker.address], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const trials = readCsv(runDir, "trials.csv");
    rows = readCsv(runDir, "heldout.csv");
    const bases = 2 * 2;
    expect(rows).toHaveLength((trials.length + bases) * heldout.length);
    for (const t of trials) {
      for (const h of heldout) {
        const row = rows.filter((x) => x.strategy === t.strategy && x.seed === t.seed && x.prompt_index === t.prompt_index && x.budget === t.budget && x.reward === h);
        expect(row).toHaveLength(1);
        expect(row[0].optimised_score).toBe(t.best_score);
        expect(row[0].eval_index).toBe(t.best_eval_index);
      }
    }
    // the optimised score is the CLIP reward's cosine (evaluator.score defaults to cosine), and the held-out scores are what sweep score gives on the same render
    const base = rows.find((x) => x.strategy === "base" && x.reward === "aesthetic-tiny")!;
    const again = await runCli(["score", "--model", path.join(models, "aesthetic-tiny"), "--format", "json", path.join(runDir, base.image)]);
    expect(JSON.parse(again.stdout)[0].score).toBe(Number(base.score));
    const clip = await runCli(["score", "--model", path.join(models, "clip-tiny"), "--prompt", base.prompt, "--format", "json", path.join(runDir, base.image)]);
    expect(JSON.parse(clip.stdout)[0].cosine).toBe(Number(base.optimised_score));
  }, 300_000);

  it("the report shows the held-out table, the paired comparisons and the gain plot", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"], env: { ...process.env, TMPDIR: tempDir("sweep-chromium-") } });
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(path.join(runDir, "report.html")).href);
      const table = await page.locator("#heldout-table").innerText();
      for (const reward of ["clip-tiny (optimised)", ...heldout]) expect(table).toContain(reward);
      expect(await page.locator("#heldout-table tbody tr").count()).toBe(3 * (1 + 2 * 2));
      expect(await page.locator("#heldout-comparisons tbody tr").count()).toBe(3 * 2);
      const svg = page.locator("#heldout-gain svg");
      expect(await svg.count()).toBe(1);
      expect(await svg.innerHTML()).toContain("hpsv2-tiny");
    } finally {
      await browser.close();
    }
    expect(readFileSync(path.join(runDir, "report.md"), "utf8")).toContain("## Held-out rewards");
  }, 60_000);

  it("sweep rescore, with heldout.csv removed, writes the same heldout.csv, and resumed redoes nothing", async () => {
    const before = readFileSync(path.join(runDir, "heldout.csv"), "utf8");
    rmSync(path.join(runDir, "heldout.csv"));
    const r = await runCli(["rescore", runDir, "--heldout", heldout.join(","), "--workers", worker.address], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/scored differently/);
    expect(readFileSync(path.join(runDir, "heldout.csv"), "utf8")).toBe(before);
    expect(r.stderr).toMatch(/report with its held-out section: .*heldout_gain\.svg/);
    const again = await runCli(["rescore", runDir, "--heldout", heldout.join(","), "--workers", worker.address]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 to render/);
    expect(readFileSync(path.join(runDir, "heldout.csv"), "utf8")).toBe(before);
  }, 300_000);

  it("sweep rescore adds ImageReward as a held-out reward: one row per trial and base noise, each what sweep score gives on its image", async () => {
    const before = readCsv(runDir, "heldout.csv");
    const r = await runCli(["rescore", runDir, "--heldout", "imagereward-tiny", "--workers", worker.address], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/scored differently/);
    const after = readCsv(runDir, "heldout.csv");
    const added = after.filter((x) => x.reward === "imagereward-tiny");
    expect(added).toHaveLength(before.length / heldout.length);
    expect(after.filter((x) => x.reward !== "imagereward-tiny")).toEqual(before);
    for (const row of [added[0], added.find((x) => x.strategy === "base")!]) {
      const out = await runCli(["score", "--model", path.join(models, "imagereward-tiny"), "--prompt", row.prompt, "--format", "json", path.join(runDir, row.image)]);
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)[0]).toMatchObject({ reward: "imagereward", score: Number(row.score) });
    }
  }, 300_000);
});

describe("bad input: one line, exit 2", () => {
  it("a held-out reward equal to the optimised one", async () => {
    const r = await runCli(["run", sweepFile("same", ["reward: clip-tiny", "heldout: [clip-tiny]"]), "--model-root", models, "--run-dir", path.join(root, "same")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/heldout.*'clip-tiny' is the optimised one/);
  });

  it("a reward missing from the worker's model root, named before any evaluation", async () => {
    const r = await runCli(["run", sweepFile("missing", ["heldout: [nowhere]"]), "--run-dir", path.join(root, "missing"), "--workers", worker.address]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/worker .*held-out reward 'nowhere' not found under the model root/);
    expect(readCsv(path.join(root, "missing"), "evaluations.csv").filter((x) => x.status === "ok")).toHaveLength(0);
  }, 120_000);

  it("an unknown reward kind, a folder of the wrong kind, --prompt missing", async () => {
    const unknown = await runCli(["models", "import", "--reward", "dreamsim", "--from", imageMetricsDir, "--out", path.join(root, "x")]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Given: "dreamsim", Choices: "pickscore", "hpsv2", "clip", "aesthetic", "imagereward"/);
    const ir = await runCli(["models", "import", "--reward", "imagereward", "--from", path.join(imageMetricsDir, "Aesthetic"), "--out", path.join(root, "x")]);
    expect(ir.code).toBe(2);
    expect(ir.stderr).toMatch(/Aesthetic\/model\.safetensors: has a CLIP vision tower and an MLP head .*--reward imagereward needs BLIP keys/);
    const wrong = await runCli(["models", "import", "--reward", "aesthetic", "--from", path.join(imageMetricsDir, "HPSv2"), "--out", path.join(root, "x")]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/HPSv2\/model\.safetensors: has open_clip keys .*--reward aesthetic needs/);
    const png = writeRgbPng(path.join(root, "sq256.png"), goldenImages.get("sq256.image_uint8") as Uint8Array, 256, 256);
    const noPrompt = await runCli(["score", "--model", path.join(models, "hpsv2-tiny"), png]);
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.stderr).toMatch(/--prompt is required: the hpsv2 reward scores an image for a prompt/);
    const noPromptIr = await runCli(["score", "--model", path.join(models, "imagereward-tiny"), png]);
    expect(noPromptIr.code).toBe(2);
    expect(noPromptIr.stderr).toMatch(/--prompt is required: the imagereward reward scores an image for a prompt/);
  }, 60_000);
});
