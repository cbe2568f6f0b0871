/**
 * `sweep models import` from Hugging Face cache folders, whose files are relative symbolic links
 * into blobs/ (snapshots/REV/FILE -> ../../blobs/HASH, as `huggingface-cli download` leaves them):
 * the links are resolved, and the model directory holds the data itself, so it works after the
 * cache is deleted. The golden tiny checkpoints, laid out as a real cache.
 */
import { createHash } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { flux2Dir } from "./flux2-reference.js";

/** Lays `source` out as the HF cache does under `cache/models--NAME`; returns its snapshots/REV folder. */
function asHfCache(cache: string, name: string, source: string): string {
  const repo = path.join(cache, `models--${name}`);
  const blobs = path.join(repo, "blobs");
  const snapshot = path.join(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567");
  mkdirSync(blobs, { recursive: true });
  const place = (from: string, rel: string) => {
    const hash = createHash("sha256").update(readFileSync(from)).digest("hex");
    copyFileSync(from, path.join(blobs, hash));
    const link = path.join(snapshot, rel);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.relative(path.dirname(link), path.join(blobs, hash)), link);
  };
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir)) {
      const p = path.join(dir, entry);
      if (statSync(p).isDirectory()) walk(p, path.join(rel, entry));
      else place(p, path.join(rel, entry));
    }
  };
  walk(source, "");
  return snapshot;
}

it("imports checkpoints from a Hugging Face cache layout, and the model works after the cache is deleted", async () => {
  const dir = tempDir();
  const cache = path.join(dir, "hub");
  const flux2 = asHfCache(cache, "flux2-tiny", path.join(flux2Dir, "FLUX.2-klein-tiny"));
  const pickscore = asHfCache(cache, "pickscore-tiny", path.join(flux2Dir, "PickScore-tiny"));
  const processor = asHfCache(cache, "clip-processor-tiny", path.join(flux2Dir, "CLIP-processor-tiny"));
  expect(lstatSync(path.join(flux2, "vae", "diffusion_pytorch_model.safetensors")).isSymbolicLink()).toBe(true);

  const models = path.join(dir, "models");
  const r = await runCli(["models", "import", "--flux2", flux2, "--pickscore", pickscore, "--processor", processor, "--out", path.join(models, "tiny")]);
  expect(r.code, r.stderr).toBe(0);
  for (const f of readdirSync(path.join(models, "tiny", "weights"), { recursive: true, withFileTypes: true })) {
    expect(f.isSymbolicLink(), f.name).toBe(false);
  }

  rmSync(cache, { recursive: true });
  const sweep = path.join(dir, "sweep.yaml");
  const yaml = "prompts: [a cat]\nseeds: [0]\nbudgets: [1]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: tiny, height: 64, width: 64, max_batch: 1}\n";
  writeFileSync(sweep, yaml);
  const run = await runCli(["run", sweep, "--model-root", models, "--run-dir", path.join(dir, "run"), "--threads", "1"]);
  expect(run.code, run.stderr).toBe(0);
});
