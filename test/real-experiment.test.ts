/**
 * The real experiment's path on a CPU: synthetic flux2-tiny models imported by the CLI, then
 * configs/tiny-flux2.yaml through a gRPC worker, down to the best/ noises and images; and the real
 * configs/ses_vs_random.yaml refused before any evaluation when its models are missing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { decode } from "fast-png";
import { beforeAll, describe, expect, test } from "vitest";
import { importTinyFlux2, runCli, tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";

describe("configs/tiny-flux2.yaml on synthetic flux2-tiny models", () => {
  const root = tempDir("sweep-tiny-flux2-");
  const runDir = path.join(root, "run");
  let stdout = "";

  beforeAll(async () => {
    await importTinyFlux2(path.join(root, "models", "flux2-tiny"));
    const r = await runCli(["run", "configs/tiny-flux2.yaml", "--model-root", path.join(root, "models"), "--run-dir", runDir], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    stdout = r.stdout;
  }, 360_000);

  test("every evaluation and trial is recorded", () => {
    const rows = parse(readFileSync(path.join(runDir, "evaluations.csv")), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3 * 2 * 2 * 10);
    expect(rows.every((r) => r.status === "ok")).toBe(true);
    expect(parse(readFileSync(path.join(runDir, "trials.csv")), { columns: true })).toHaveLength(3 * 2 * 2 * 2);
    expect(stdout).toMatch(/Best candidates: \d+ noises and \d+ images for 24 trials/);
  });

  test("best/index.csv names a noise and an image for every trial, and the run says the model is synthetic", () => {
    const index = parse(readFileSync(path.join(runDir, "best", "index.csv")), { columns: true }) as Record<string, string>[];
    expect(Object.keys(index[0])).toEqual(["prompt_index", "prompt", "strategy", "seed", "budget", "trial_status", "best_eval_index", "best_score", "best_noise_seed", "noise", "image"]);
    expect(index).toHaveLength(24);
    for (const row of index) {
      expect(existsSync(path.join(runDir, row.noise)), row.noise).toBe(true);
      expect(existsSync(path.join(runDir, row.image)), row.image).toBe(true);
    }
    expect(readFileSync(path.join(runDir, "report.md"), "utf8")).toMatch(/synthetic models with random weights: flux2-tiny \(flux2-tiny\)/);
  });

  test("numpy loads every noise as float32 (1, 128, 16, 16)", () => {
    const files = readdirSync(path.join(runDir, "best")).filter((f) => f.endsWith(".npy")).map((f) => path.join(runDir, "best", f));
    expect(files.length).toBeGreaterThan(0);
    const out = execFileSync("/usr/bin/python3", ["-c", "import sys, numpy\nfor f in sys.argv[1:]:\n  a = numpy.load(f)\n  print(a.dtype, a.shape)", ...files], { encoding: "utf8" });
    expect(new Set(out.trim().split("\n"))).toEqual(new Set(["float32 (1, 128, 16, 16)"]));
  });

  test("every image decodes to 256 x 256 x 3, the base images of the gallery included", () => {
    const pngs = readdirSync(path.join(runDir, "best")).filter((f) => f.endsWith(".png"));
    expect(pngs).toEqual(expect.arrayContaining(["p0_random_s0_e0.png", "p2_random_s1_e0.png"]));
    for (const f of pngs) {
      const img = decode(readFileSync(path.join(runDir, "best", f)));
      expect([img.width, img.height, img.channels, img.data.length], f).toEqual([256, 256, 3, 256 * 256 * 3]);
    }
  });

  test("sweep render gives the worker's image of a candidate, byte for byte, and its recorded score", async () => {
    const [row] = parse(readFileSync(path.join(runDir, "best", "index.csv")), { columns: true }) as Record<string, string>[];
    const out = path.join(root, "rendered.png");
    const searchId = `p${row.prompt_index}/${row.strategy}/s${row.seed}`;
    const r = await runCli(["render", "--run", runDir, "--search", searchId, "--eval", row.best_eval_index, "--out", out, "--model-root", path.join(root, "models")]);
    expect(r.stderr).toMatch(/score [-\d.e]+ \(as recorded\)/);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(path.join(runDir, row.image)))).toBe(true);
  });

  test("sweep render rebuilds noises of no seed, a zero-order neighbour and an evolution member, with their recorded scores", async () => {
    const searches = path.join(root, "searches");
    writeFileSync(path.join(root, "searches.yaml"), `name: searches
prompts: ["sketch, a cat"]
seeds: [0]
budgets: [3]
strategies:
  - { name: zero-order, neighbors: 2 }
  - { name: evolution, popsize: [3, 3], elites: 1 }
evaluator: { kind: flux2-pickscore, model: flux2-tiny, height: 256, width: 256, precision: float32, max_batch: 1 }
`);
    const r = await runCli(["run", path.join(root, "searches.yaml"), "--model-root", path.join(root, "models"), "--run-dir", searches], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    for (const searchId of ["p0/zero-order/s0", "p0/evolution/s0"]) {
      const out = path.join(root, `${searchId.replaceAll("/", "_")}.png`);
      const rendered = await runCli(["render", "--run", searches, "--search", searchId, "--eval", "2", "--out", out, "--model-root", path.join(root, "models")]);
      expect(rendered.stderr, searchId).toMatch(/eval 2 \(noise_seed none\), score [-\d.e]+ \(as recorded\)/);
      expect(rendered.code).toBe(0);
      expect(decode(readFileSync(out)).width).toBe(256);
    }
  }, 300_000);
});

test("configs/ses_vs_random.yaml without its models stops before any evaluation, naming the folder, the root and the import command", async () => {
  const cwd = tempDir();
  const models = path.join(cwd, "models");
  const r = await runCli(["run", path.join(repoRoot, "configs/ses_vs_random.yaml"), "--model-root", models], { cwd });
  expect(r.stderr).toContain(`model 'flux2-klein-4b' not found under the model root ${models}; make it with 'sweep models import --flux2 DIR --pickscore DIR --processor DIR --out ${path.join(models, "flux2-klein-4b")}'`);
  expect(r.code).toBe(2);
  expect(existsSync(path.join(cwd, "results"))).toBe(false);
});
