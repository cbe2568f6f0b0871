/**
 * Acceptance 1 of the rewards: every golden folder imported by the real CLI, and every golden case
 * reproduced through `sweep score` (float32, CPU); token ids, pixel values and embeddings checked
 * against the traces through the same scorer.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RewardScorer } from "../src/evaluators/rewards/reward-scorer.js";
import { runCli, tempDir } from "./cli.js";
import { flux2Dir, golden as flux2Golden, loadTrace, relativeError, TRACES } from "./flux2-reference.js";
import { goldenImages, imageMetricsDir, readTensors, rewardsDir, rewardsGolden, writeRgbPng, type RewardCase } from "./rewards-reference.js";

const FOLDERS = { hpsv2: "HPSv2", clip: "CLIP-ViT-H-14-laion2B-s32B-b79K", aesthetic: "Aesthetic", imagereward: "ImageReward" } as const;
type Metric = keyof typeof FOLDERS;
/** golden.json's name of each reward */
const GOLDEN_METRIC: Record<Metric, string> = { hpsv2: "hpsv2", clip: "clip", aesthetic: "aesthetic", imagereward: "image_reward" };
/** what the scorer observes -> the trace's key (README: Aesthetic's image_embeds is its mlp_input; ImageReward's text_cls is its) */
const TRACED: Record<Metric, Record<string, string>> = {
  hpsv2: { image_embeds: "image_embeds", text_embeds: "text_embeds" },
  clip: { image_embeds: "image_embeds", text_embeds: "text_embeds" },
  aesthetic: { image_embeds: "mlp_input" },
  imagereward: { image_embeds: "image_embeds", text_cls: "mlp_input" },
};
/** rewards whose score is exp(logit_scale) x cosine, and which return the cosine too */
const withCosine = (m: Metric) => m === "hpsv2" || m === "clip";
const cpu = { kind: "cpu" as const, index: 0, intraOpThreads: 1 };

const root = tempDir();
const models: Record<string, string> = {};

beforeAll(async () => {
  const imports = Object.entries(FOLDERS).map(([reward, folder]) =>
    runCli(["models", "import", "--reward", reward, "--from", path.join(imageMetricsDir, folder), "--out", path.join(root, reward)]));
  imports.push(runCli(["models", "import", "--reward", "pickscore", "--from", path.join(flux2Dir, "PickScore-tiny"), "--processor", path.join(flux2Dir, "CLIP-processor-tiny"), "--out", path.join(root, "pickscore")]));
  for (const r of await Promise.all(imports)) expect(r.code, r.stderr).toBe(0);
  for (const reward of [...Object.keys(FOLDERS), "pickscore"]) models[reward] = path.join(root, reward);
}, 60_000);

function pngOf(c: RewardCase): string {
  return writeRgbPng(path.join(root, `${c.image}.png`), goldenImages.get(`${c.image}.image_uint8`) as Uint8Array, c.height, c.width);
}

async function score(model: string, images: string[], prompt: string | null): Promise<{ image: string; reward: string; score: number; cosine?: number }[]> {
  const r = await runCli(["score", "--model", model, "--format", "json", ...(prompt === null ? [] : ["--prompt", prompt]), ...images]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe("sweep score reproduces DiffSynth's metric classes on the golden cases", () => {
  for (const metric of Object.keys(FOLDERS) as Metric[]) {
    const cases = rewardsGolden.cases.filter((c) => c.metric === GOLDEN_METRIC[metric]);
    it(`${metric}: every case's score${withCosine(metric) ? " and cosine" : ""}, through the CLI`, async () => {
      expect(cases).toHaveLength(4);
      const outs = await Promise.all(cases.map((c) => score(models[metric], [pngOf(c)], c.prompt)));
      for (const [i, c] of cases.entries()) {
        const [out] = outs[i];
        expect(out.reward).toBe(metric);
        if (!withCosine(metric)) {
          expect(Math.abs(out.score - c.score) / Math.max(1, Math.abs(c.score))).toBeLessThanOrEqual(1e-5);
          expect(out.cosine).toBeUndefined();
        } else {
          expect(Math.abs((out.cosine as number) - (c.score_cosine as number))).toBeLessThanOrEqual(1e-5);
          expect(Math.abs(out.score - c.score) / Math.abs(c.score)).toBeLessThanOrEqual(1e-5);
        }
      }
    }, 60_000);

    it(`${metric}: token ids exactly, pixel values bit for bit, embeddings to 1e-5`, async () => {
      const scorer = await RewardScorer.open(models[metric], "float32", cpu);
      for (const c of cases) {
        const seen = new Map<string, Float32Array | BigInt64Array>();
        const rgb = goldenImages.get(`${c.image}.image_uint8`) as Uint8Array;
        const [s] = await scorer.score(c.prompt, [{ rgb, height: c.height, width: c.width }], (name, v) => seen.set(name, v.slice()));
        const trace = readTensors(path.join(rewardsDir, c.trace));
        expect(Buffer.from((seen.get("pixel_values") as Float32Array).buffer)).toEqual(Buffer.from((goldenImages.get(c.pixel_values) as Float32Array).buffer));
        for (const [name, key] of Object.entries(TRACED[metric])) {
          expect(relativeError(seen.get(name) as Float32Array, trace.get(key) as Float32Array), name).toBeLessThanOrEqual(1e-5);
        }
        if (c.prompt !== null) expect([...(seen.get("input_ids") as BigInt64Array)]).toEqual([...(trace.get("input_ids") as BigInt64Array)]);
        expect(Math.abs(s.score - c.score) / Math.max(1, Math.abs(c.score))).toBeLessThanOrEqual(1e-5);
      }
      await scorer.release();
    });
  }

  it("pickscore: the flux2 golden images' cosine and logit through the CLI", async () => {
    for (const name of TRACES) {
      const trace = loadTrace(name);
      const g = flux2Golden.cases.find((c) => c.seed === Number(/seed(\d+)$/.exec(name)![1]))!;
      const png = writeRgbPng(path.join(root, `${name}.png`), trace.get("image_uint8")!.data as Uint8Array, g.height, g.width);
      const [out] = await score(models.pickscore, [png], g.prompt);
      expect(out.reward).toBe("pickscore");
      expect(Math.abs((out.cosine as number) - g.score_cosine)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(out.score - g.score_logit) / Math.abs(g.score_logit)).toBeLessThanOrEqual(1e-5);
    }
  }, 60_000);
});
