/**
 * The flux2-pickscore evaluator through the real CLI: `sweep models import` of the golden
 * checkpoints, then sweeps with a local worker and with separate `sweep worker` processes over
 * gRPC. Evaluation 0 of a random search is the seed's own noise, so its score is the reference's.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { flux2Dir, golden } from "./flux2-reference.js";
import { startWorkerProcess, type WorkerProcess } from "./workers.js";

const root = tempDir("sweep-flux2-");
const models = path.join(root, "models");

type Row = Record<string, string>;
const rows = (runDir: string): Row[] => parse(readFileSync(path.join(runDir, "evaluations.csv")), { columns: true }) as Row[];

function sweepYaml(name: string, prompt: string, seeds: number[], height: number, width: number, extra = ""): string {
  const file = path.join(root, `${name}.yaml`);
  writeFileSync(file, [
    `name: ${name}`,
    `prompts: [${JSON.stringify(prompt)}]`,
    `seeds: [${seeds.join(", ")}]`,
    "budgets: [3]",
    "strategies:",
    "  - name: random",
    "  - name: ses",
    "    popsize: 3",
    "    elites: 2",
    "    level: 2",
    "evaluator:",
    "  kind: flux2-pickscore",
    "  model: golden",
    `  height: ${height}`,
    `  width: ${width}`,
    "  max_batch: 2",
    extra,
  ].join("\n"));
  return file;
}

beforeAll(async () => {
  const r = await runCli(["models", "import",
    "--flux2", path.join(flux2Dir, "FLUX.2-klein-tiny"), "--pickscore", path.join(flux2Dir, "PickScore-tiny"),
    "--processor", path.join(flux2Dir, "CLIP-processor-tiny"), "--out", path.join(models, "golden")]);
  expect(r.stderr).toContain("wrote");
  expect(r.code).toBe(0);
}, 120_000);

describe("golden scores through sweep run", () => {
  const cases = [
    { prompt: "sketch, a cat", seeds: [0, 1, 2], height: 128, width: 128 },
    { prompt: "a lighthouse at dawn, oil painting", seeds: [3], height: 128, width: 192 },
  ];
  test.each(cases)("$prompt at $height x $width (local worker)", async ({ prompt, seeds, height, width }) => {
    const runDir = path.join(root, `run-${height}x${width}`);
    const r = await runCli(["run", sweepYaml(`g${height}x${width}`, prompt, seeds, height, width), "--model-root", models, "--run-dir", runDir, "--threads", "1"]);
    expect(r.code, r.stderr).toBe(0);
    const recorded = rows(runDir);
    expect(recorded.filter((x) => x.status === "ok")).toHaveLength(seeds.length * 2 * 3);
    for (const seed of seeds) {
      const g = golden.cases.find((c) => c.seed === seed && c.prompt === prompt)!;
      const base = recorded.find((x) => x.strategy === "random" && Number(x.seed) === seed && x.eval_index === "0")!;
      expect(Math.abs(Number(base.score) - g.score_cosine)).toBeLessThanOrEqual(1e-5);
    }
    const manifest = JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"));
    expect(manifest.executor.workers[0].devices[0]).toMatchObject({ execution_provider: "cpu", runtime: "onnxruntime 1.29.0" });
  });

  test("1024 x 1024, the real resolution, score: logit", async () => {
    const g = golden.cases.find((c) => c.height === 1024)!;
    const file = path.join(root, "g1024.yaml");
    writeFileSync(file, `prompts: [${JSON.stringify(g.prompt)}]\nseeds: [${g.seed}]\nbudgets: [1]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: golden, score: logit, max_batch: 1}\n`);
    const runDir = path.join(root, "run-1024");
    const r = await runCli(["run", file, "--model-root", models, "--run-dir", runDir, "--threads", "1"]);
    expect(r.code, r.stderr).toBe(0);
    const [row] = rows(runDir);
    expect(Math.abs(Number(row.score) - g.score_logit) / g.score_logit).toBeLessThanOrEqual(1e-5);
  }, 300_000);
});

describe("separate sweep worker processes", () => {
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  test("give the same scores as the local worker, key for key", async () => {
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", models, "--preload", "golden"]));
    // They listen while the model loads, and say when it is warm.
    await Promise.all(workers.map((w) => w.waitForLog(/ready: golden loaded and warmed/)));
    expect(workers[0].stderr()).toMatch(/loaded and warmed golden \(float32\) on cpu/);
    const file = sweepYaml("remote", "sketch, a cat", [0, 1, 2], 128, 128);
    const runDir = path.join(root, "run-remote");
    const r = await runCli(["run", file, "--workers", workers.map((w) => w.address).join(","), "--run-dir", runDir]);
    expect(r.code, r.stderr).toBe(0);
    const key = (x: Row) => `${x.search_id}#${x.eval_index}`;
    const local = new Map(rows(path.join(root, "run-128x128")).map((x) => [key(x), x.score]));
    const remote = rows(runDir);
    expect(remote).toHaveLength(local.size);
    for (const x of remote) expect(x.score, key(x)).toBe(local.get(key(x)));
    expect(new Set(remote.map((x) => x.worker.split("/")[0])).size).toBe(2);
  });
});
