/**
 * Non-finite model output is never recorded as a score: a VAE whose weights are NaN fails naming
 * the stage (the run stops loudly), and `sweep models import` and `sweep worker --verify` refuse a
 * checkpoint with NaN weights, naming the file and tensor. Real files, real processes.
 */
import { createHash } from "node:crypto";
import { cpSync, closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { importTinyFlux2, runCli, sweepDir, tempDir } from "./cli.js";
import { flux2Dir } from "./flux2-reference.js";
import { readCsv, readManifest } from "./run-results.js";
import { readSafetensorsHeader } from "../src/models/safetensors.js";

/** Overwrites every float32 tensor of a .safetensors file with NaN, in place (same size). */
function fillWithNaN(file: string): void {
  const fd = openSync(file, "r+");
  try {
    for (const t of readSafetensorsHeader(file).values()) {
      if (t.dtype !== "F32") continue;
      writeSync(fd, Buffer.from(new Float32Array(t.length / 4).fill(NaN).buffer), 0, t.length, t.offset);
    }
  } finally {
    closeSync(fd);
  }
}

it("a VAE that outputs NaN fails its evaluations naming the VAE decoder: no score recorded, the run fails (exit 1)", async () => {
  const dir = sweepDir("prompts: [a cat]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1, retries: 0}\n");
  const models = path.join(dir, "models");
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  fillWithNaN(path.join(models, "flux2-tiny", "weights", "vae", "diffusion_pytorch_model.safetensors"));
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", path.join(dir, "sweep.yaml"), "--model-root", models, "--run-dir", runDir, "--threads", "1"]);
  // each evaluation fails naming the stage, and its search with it, as a NaN score does
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout + r.stderr).toMatch(/the VAE decoder gave a non-finite output \(NaN at index \d+ of \d+\)/);
  expect(readManifest(runDir)).toMatchObject({ status: "failed" });
  const rows = readCsv(runDir, "evaluations.csv");
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) expect(row.error).toMatch(/VAE decoder gave a non-finite output/);
  expect(readCsv(runDir, "evaluations.csv").filter((row) => row.status === "ok")).toEqual([]);
});

it("sweep models import refuses a checkpoint with NaN weights, naming the file and tensor (exit 2)", async () => {
  const dir = tempDir();
  const flux2 = path.join(dir, "FLUX.2-klein-tiny");
  cpSync(path.join(flux2Dir, "FLUX.2-klein-tiny"), flux2, { recursive: true });
  const vae = path.join(flux2, "vae", "diffusion_pytorch_model.safetensors");
  fillWithNaN(vae);
  const out = path.join(dir, "models", "broken");
  const r = await runCli(["models", "import", "--flux2", flux2, "--pickscore", path.join(flux2Dir, "PickScore-tiny"), "--processor", path.join(flux2Dir, "CLIP-processor-tiny"), "--out", out]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(`${vae}: non-finite weights (NaN or infinity) in `);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});

it("sweep worker --verify refuses a model imported before that check whose weights are NaN, naming the file and tensor (exit 2)", async () => {
  const models = path.join(tempDir(), "models");
  const dir = path.join(models, "flux2-tiny");
  await importTinyFlux2(dir);
  const vae = "weights/vae/diffusion_pytorch_model.safetensors";
  fillWithNaN(path.join(dir, vae));
  // as a directory imported before weights were checked: the file's digest recorded, no manifest digest
  const manifestFile = path.join(dir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  const entry = manifest.files.find((f: { path: string }) => f.path === vae);
  entry.sha256 = createHash("sha256").update(readFileSync(path.join(dir, vae))).digest("hex");
  delete manifest.digest;
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  const r = await runCli(["worker", "--listen", "127.0.0.1:0", "--model-root", models, "--preload", "flux2-tiny", "--verify"]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/diffusion_pytorch_model\.safetensors: non-finite weights \(NaN or infinity\) in \S+/);
});
