// The rewards' cost per image (`node bench/evaluator.mjs --rewards pickscore,hpsv2,clip,aesthetic,imagereward [--size real|tiny]`):
// each reward imported with --synthetic (real: the real towers, bfloat16 weights) into a temporary
// folder, opened on the device, warmed on one image, then `--evals` images of 1024x1024 scored one
// at a time as a held-out check scores renders: preprocessing (resize, crop, normalise), the vision
// tower, the score; the text tower once per prompt (cached in a sweep), timed apart. ImageReward's
// text encoder cross-attends to the image, so it runs per image (in "ms per image") and its "ms per
// prompt" is the tokenizer's alone. Rewards are measured one after another and released in between,
// so peak memory is one reward's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { RewardScorer } from "../dist/evaluators/rewards/reward-scorer.js";
import { root } from "./lib.mjs";

const log = (s) => process.stderr.write(`[rewards] ${s}\n`);
const PROMPTS = ["a photograph of an astronaut riding a horse on the moon", "a red fox in fresh snow at dawn", "a bowl of ramen, studio lighting"];

function image(size, seed) {
  const rgb = new Uint8Array(size * size * 3);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < rgb.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    rgb[i] = x & 0xff;
  }
  return { rgb, height: size, width: size };
}

export async function rewardBench(opts) {
  const rewards = opts.rewards.split(",");
  const size = opts.size ?? "real";
  const gpu = opts.device !== undefined && opts.device !== "cpu";
  const device = gpu ? { kind: "gpu", index: Number(opts.device), intraOpThreads: 1 } : { kind: "cpu", index: 0, intraOpThreads: opts.threads ?? availableParallelism() };
  const precision = opts.precision ?? (gpu ? "bfloat16" : "float32");
  const evals = opts.evals ?? 4;
  const images = Array.from({ length: evals }, (_, i) => image(opts.height ?? 1024, i + 1));
  const results = [];
  for (const reward of rewards) {
    const tmp = mkdtempSync(path.join(tmpdir(), "sweep-bench-reward-"));
    let scorer = null;
    try {
      const dir = path.join(tmp, reward);
      let t = performance.now();
      execFileSync(process.execPath, [path.join(root, "bin", "sweep.js"), "models", "import", "--reward", reward, "--synthetic", size, "--out", dir], { stdio: ["ignore", "ignore", "inherit"] });
      const importS = (performance.now() - t) / 1000;
      t = performance.now();
      scorer = await RewardScorer.open(dir, precision, device);
      const loadS = (performance.now() - t) / 1000;
      const prompt = scorer.needsPrompt ? PROMPTS[0] : null;
      t = performance.now();
      await scorer.score(prompt, [images[0]]);
      const warmS = (performance.now() - t) / 1000;
      // the text tower alone, on prompts not seen yet
      let textMs = null;
      if (scorer.needsPrompt) {
        t = performance.now();
        for (const p of PROMPTS.slice(1)) await scorer.encodePrompt(p);
        textMs = (performance.now() - t) / (PROMPTS.length - 1);
      }
      t = performance.now();
      for (const img of images) await scorer.score(prompt, [img]);
      const imageMs = (performance.now() - t) / evals;
      const r = { reward, size, precision, device: gpu ? `cuda:${opts.device}` : cpus()[0]?.model.trim(), threads: device.intraOpThreads, evals, image_ms: imageMs, text_ms: textMs, import_s: importS, load_s: loadS, warmup_s: warmS, rss_mib: process.memoryUsage().rss / 2 ** 20, load_avg: loadavg()[0] };
      log(`${reward}: ${imageMs.toFixed(0)} ms per image${textMs === null ? "" : `, ${textMs.toFixed(0)} ms per prompt`}`);
      results.push(r);
    } finally {
      await scorer?.release();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return results;
}

export function describeRewards(results) {
  const f = (x, d = 0) => (x === null ? "-" : x.toFixed(d));
  const rows = results.map((r) => `| ${r.reward} | ${f(r.image_ms)} | ${f(r.text_ms)} | ${f(r.load_s, 1)} | ${f(r.rss_mib)} |`);
  const r0 = results[0];
  return [
    `Rewards, synthetic ${r0.size} sizes, ${r0.precision} on ${r0.device} (${r0.threads} threads), ${r0.evals} images of 1024x1024 each, batch 1; load average ${f(r0.load_avg, 2)}`,
    "| reward | ms per image (preprocess + vision + score; ImageReward: + text encoder) | ms per prompt (text tower, once; ImageReward: tokens) | session load s | RSS MiB after |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
