/**
 * The whole evaluation against the reference's traces: a model directory imported from the golden
 * checkpoints (the real layouts), on CPU in float32, through both paths of the pipeline: the batch
 * graph in one run (what workers run; its traced variant outputs the intermediates) and the stage
 * graphs with the host between them.
 */
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { Flux2Models } from "../src/evaluators/flux2-pickscore/model-sessions.js";
import { Flux2PickScorePipeline, type PipelinePath } from "../src/evaluators/flux2-pickscore/pipeline.js";
import { importModels } from "../src/models/import-models.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import { flux2Dir, golden, loadTrace, relativeError, scratchDir, TRACES, type TraceTensor } from "./flux2-reference.js";

const dir = scratchDir();
const modelDir = path.join(dir, "golden");
let pipeline: Flux2PickScorePipeline;
const byPath = new Map<PipelinePath, Flux2PickScorePipeline>();
const cpu = { kind: "cpu" as const, index: 0, intraOpThreads: 1 };

beforeAll(async () => {
  await importModels({
    flux2: path.join(flux2Dir, "FLUX.2-klein-tiny"),
    pickscore: path.join(flux2Dir, "PickScore-tiny"),
    processor: path.join(flux2Dir, "CLIP-processor-tiny"),
    out: modelDir,
  });
  pipeline = new Flux2PickScorePipeline(await Flux2Models.open(modelDir, "float32", cpu));
  byPath.set("one-run", pipeline);
  byPath.set("stages", new Flux2PickScorePipeline(await Flux2Models.open(modelDir, "float32", cpu), () => {}, { mode: "stages" }));
});

const settings = (h: number, w: number) => ({ height: h, width: w, steps: 4, score: "cosine" as const, maxBatch: 1 });

function levelsOff(a: Uint8Array | Float32Array, e: ArrayLike<number>, level: number): { share: number; max: number } {
  let n = 0;
  let max = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]) / level;
    if (d > 1e-3) n++;
    max = Math.max(max, d);
  }
  return { share: n / e.length, max };
}

describe.each((["one-run", "stages"] as const).flatMap((mode) => TRACES.map((t) => [mode, t] as const)))("%s path, %s", (mode, name) => {
  const seed = Number(/seed(\d+)/.exec(name)![1]);
  const c = golden.cases.find((g) => g.seed === seed)!;
  const seen = new Map<string, Float32Array | Uint8Array | BigInt64Array>();
  let trace: Map<string, TraceTensor>;
  let score = NaN;

  beforeAll(async () => {
    trace = loadTrace(name);
    const noise = torchRandn(seed, 128 * (c.height / 16) * (c.width / 16));
    const [result] = await byPath.get(mode)!.scoreBatch(c.prompt, [noise], settings(c.height, c.width), { observe: (k, v) => seen.set(k, v.slice()) });
    score = result.score;
  }, 300_000);

  test("every traced float intermediate within 1e-5 relative", () => {
    const floats = [...trace.keys()].filter((k) => trace.get(k)!.data instanceof Float32Array && !/timestep|pixel_values|^noise$/.test(k));
    expect(floats.length).toBeGreaterThanOrEqual(name.includes("case2") ? 3 : 13);
    // A uint8 level flipped by the truncation (allowed below) moves what CLIP sees; image_embeds is then
    // held to 1e-4, and test/pickscore-clip.test.ts checks it at 1e-5 from the reference's own pixels.
    const samePixels = relativeError(seen.get("pixel_values") as Float32Array, trace.get("pixel_values")!.data as Float32Array) === 0;
    for (const k of floats) {
      const got = seen.get(k);
      expect(got, k).toBeDefined();
      const bound = k === "image_embeds" && !samePixels ? 1e-4 : 1e-5;
      expect(relativeError(got as Float32Array, trace.get(k)!.data as Float32Array), k).toBeLessThanOrEqual(bound);
    }
  });

  test("uint8 image and pixel_values: at most one level off on at most 0.1% of values", () => {
    const img = levelsOff(seen.get("image_uint8") as Uint8Array, trace.get("image_uint8")!.data as Uint8Array, 1);
    expect(img.max).toBeLessThanOrEqual(1);
    expect(img.share).toBeLessThanOrEqual(1e-3);
    // one uint8 level is 1/255/std after normalisation: at least 1/255/0.2758 (the largest std)
    const px = levelsOff(seen.get("pixel_values") as Float32Array, trace.get("pixel_values")!.data as Float32Array, 1 / 255 / 0.26130258);
    expect(px.max).toBeLessThanOrEqual(1.01);
    expect(px.share).toBeLessThanOrEqual(1e-3);
  });

  test("score equals the reference's to 1e-5", () => {
    expect(Math.abs(score - c.score_cosine)).toBeLessThanOrEqual(1e-5);
  });
});

test("the one-run path's scores equal the stage path's to 1e-6 on every golden case", async () => {
  let worst = 0;
  for (const c of golden.cases) {
    const noise = torchRandn(c.seed, 128 * (c.height / 16) * (c.width / 16));
    const [one] = await byPath.get("one-run")!.scoreBatch(c.prompt, [noise], settings(c.height, c.width));
    const [stages] = await byPath.get("stages")!.scoreBatch(c.prompt, [noise], settings(c.height, c.width));
    worst = Math.max(worst, Math.abs(one.score - stages.score));
  }
  console.log(`largest |one-run - stages| score difference over ${golden.cases.length} golden cases: ${worst.toExponential(2)}`);
  expect(worst).toBeLessThanOrEqual(1e-6);
}, 300_000);

test("the one-run path fetches an image only when asked for, the same image as the stage path's", async () => {
  const c = golden.cases[0];
  const noise = torchRandn(c.seed, 128 * (c.height / 16) * (c.width / 16));
  const [scoreOnly] = await byPath.get("one-run")!.scoreBatch(c.prompt, [noise], settings(c.height, c.width));
  expect(scoreOnly.image).toBeUndefined();
  const [withImage] = await byPath.get("one-run")!.scoreBatch(c.prompt, [noise], settings(c.height, c.width), { images: true });
  const [stages] = await byPath.get("stages")!.scoreBatch(c.prompt, [noise], settings(c.height, c.width));
  expect(withImage.image).toEqual(stages.image);
  expect(withImage.score).toBe(scoreOnly.score);
}, 120_000);

test("the golden scores of case 0 at seeds 0-2, cosine and logit", async () => {
  for (const c of golden.cases.filter((g) => g.case === 0)) {
    const noise = torchRandn(c.seed, 128 * 8 * 8);
    const [cos] = await pipeline.scoreBatch(c.prompt, [noise], settings(128, 128));
    const [logit] = await pipeline.scoreBatch(c.prompt, [noise], { ...settings(128, 128), score: "logit" });
    expect(Math.abs(cos.score - c.score_cosine)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(logit.score - c.score_logit) / c.score_logit).toBeLessThanOrEqual(1e-5);
  }
});

describe("batches", () => {
  const s4 = { ...settings(128, 128), maxBatch: 4 };
  const noises = [0, 1, 2, 3, 4].map((seed) => torchRandn(seed, 128 * 8 * 8));

  test("a candidate's score is bit-identical alone, in a full batch at any position, and mixed with others", async () => {
    const A = noises[0];
    const alone = (await pipeline.scoreBatch("sketch, a cat", [A], s4))[0].score;
    const full = await pipeline.scoreBatch("sketch, a cat", [A, noises[1], noises[2], noises[3]], s4);
    const reversed = await pipeline.scoreBatch("sketch, a cat", [noises[3], noises[2], noises[1], A], s4);
    const mixed = await pipeline.scoreBatch("sketch, a cat", [noises[4], A], s4);
    const chunked = await pipeline.scoreBatch("sketch, a cat", [noises[1], noises[2], noises[3], noises[4], A], s4);
    expect([full[0].score, reversed[3].score, mixed[1].score, chunked[4].score]).toEqual([alone, alone, alone, alone]);
    expect(full[1].score).toBe(reversed[2].score);
    expect(full[1].score).not.toBe(alone);
  });

  test("the text embedding is computed once per prompt", async () => {
    const before = pipeline.textEncodes;
    for (let i = 0; i < 3; i++) await pipeline.scoreBatch("a new prompt, never seen", [noises[i]], s4);
    await pipeline.scoreBatch("a new prompt, never seen", noises.slice(0, 2), s4);
    expect(pipeline.textEncodes - before).toBe(1);
  });

  test("a prompt over 77 CLIP tokens is truncated and said once", async () => {
    const lines: string[] = [];
    const p = new Flux2PickScorePipeline(await Flux2Models.open(modelDir, "float32", cpu), (l) => lines.push(l));
    const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ");
    await p.scoreBatch(long, [noises[0]], settings(128, 128));
    await p.scoreBatch(long, [noises[1]], settings(128, 128));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/longer than .*77 CLIP tokens: truncated as the reference does/);
  });
});
