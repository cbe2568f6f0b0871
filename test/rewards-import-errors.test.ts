/** `sweep models import --reward`: configs checked against the weights before anything is written, one line each; ImageReward imported and synthesised. */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelInputError } from "../src/models/model-error.js";
import { importReward } from "../src/models/rewards/import-reward.js";
import { openClipName } from "../src/models/rewards/open-clip-weights.js";
import { readRewardManifest } from "../src/models/rewards/reward-manifest.js";
import { importSyntheticReward } from "../src/models/rewards/synthetic-rewards.js";
import { RewardScorer } from "../src/evaluators/rewards/reward-scorer.js";
import { tempDir } from "./cli.js";
import { goldenImages, imageMetricsDir, rewardsGolden } from "./rewards-reference.js";

function copyOf(folder: string, edit?: (config: any) => void): string {
  const dir = path.join(tempDir(), folder);
  cpSync(path.join(imageMetricsDir, folder), dir, { recursive: true });
  if (edit) {
    const file = path.join(dir, "config.json");
    const config = JSON.parse(readFileSync(file, "utf8"));
    edit(config);
    writeFileSync(file, JSON.stringify(config));
  }
  return dir;
}

async function refused(reward: string, from: string, pattern: RegExp): Promise<void> {
  const out = path.join(tempDir(), "out");
  const e = await importReward({ reward, from, out }).then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ModelInputError);
  expect((e as Error).message).toMatch(pattern);
  expect((e as Error).message).not.toContain("\n");
  // nothing half-written: neither the output nor its temporary folder
  expect(readdirSync(path.dirname(out))).toEqual([]);
}

describe("reward import refuses bad folders, writing nothing", () => {
  it("a layer count that disagrees with the config", async () => {
    await refused("hpsv2", copyOf("HPSv2", (c) => (c.text_config.num_hidden_layers = 3)), /holds 2 layers under 'transformer\.resblocks\.N', but .*config\.json says text_config\.num_hidden_layers 3/);
  });

  it("a width that disagrees with the weights (the fused q/k/v included)", async () => {
    await refused("hpsv2", copyOf("HPSv2", (c) => (c.vision_config.hidden_size = 64)), /tensor '.*' has shape \[.*\]; the config implies \[.*64.*\]/);
    await refused("clip", copyOf("CLIP-ViT-H-14-laion2B-s32B-b79K", (c) => (c.projection_dim = 8)), /projection\.weight. has shape \[24, (32|48)\]; the config implies \[8, (32|48)\]/);
  });

  it("an Aesthetic head that disagrees with aesthetic_mlp", async () => {
    await refused("aesthetic", copyOf("Aesthetic", (c) => (c.aesthetic_mlp = [768, 512, 128, 64, 16, 1])), /aesthetic_mlp \[768,512,128,64,16,1\], but the checkpoint's layers/);
  });

  it("a folder of another reward, either way round with ImageReward", async () => {
    await refused("clip", copyOf("Aesthetic"), /has a CLIP vision tower and an MLP head \(an Aesthetic checkpoint\); --reward clip needs HF CLIPModel keys/);
    await refused("imagereward", copyOf("HPSv2"), /HPSv2\/model\.safetensors: has open_clip keys \(an HPSv2 checkpoint\); --reward imagereward needs BLIP keys \(an ImageReward checkpoint\)/);
    await refused("hpsv2", copyOf("ImageReward"), /ImageReward\/model\.safetensors: has BLIP keys \(an ImageReward checkpoint\); --reward hpsv2 needs open_clip keys/);
  });

  it("an ImageReward config that disagrees with its weights or its tokenizer", async () => {
    await refused("imagereward", copyOf("ImageReward", (c) => (c.text_config.num_hidden_layers = 1)), /has blip\.text_encoder\.encoder\.layer\.1\.\* but .*config\.json says text_config\.num_hidden_layers = 1/);
    await refused("imagereward", copyOf("ImageReward", (c) => (c.vision_config.intermediate_size = 64)), /blip\.visual_encoder\.blocks\.0\.mlp\.fc1\.weight' has shape \[128, 32\]; the config implies \[64, 32\]/);
    await refused("imagereward", copyOf("ImageReward", (c) => (c.text_config.vocab_size = 400)), /word_embeddings\.weight. has shape \[322, 32\]; the config implies \[400, 32\]/);
  });

  it("reads HPSv2 without config.json, its dimensions off the open_clip tensors", async () => {
    const from = copyOf("HPSv2");
    rmSync(path.join(from, "config.json"));
    // heads cannot be read off the shapes: the real ViT-H/14's 16 are assumed (the tiny model has 2, so only the import is checked here)
    const m = await importReward({ reward: "hpsv2", from, out: path.join(tempDir(), "hpsv2") });
    expect(m.constants).toMatchObject({ scorer: "clip-pair", projection_dim: 16, text_max_length: 77 });
  });

  it("a reward directory whose graphs are of another graph version, or a flux2 directory, is refused on reading", async () => {
    const out = path.join(tempDir(), "aesthetic");
    await importReward({ reward: "aesthetic", from: copyOf("Aesthetic"), out });
    const file = path.join(out, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...manifest, graph_version: 1 }));
    expect(() => readRewardManifest(out)).toThrow(/graphs of graph version 1, this sweep builds version \d+: run 'sweep models import --reward \.\.\.' again/);
    writeFileSync(file, JSON.stringify({ ...manifest, kind: "flux2-pickscore" }));
    expect(() => readRewardManifest(out)).toThrow(/kind is "flux2-pickscore"; a reward model directory .* expected/);
  });

  it("maps HF names to open_clip's, q/k/v to thirds of in_proj", () => {
    expect(openClipName("vision_model.encoder.layers.3.self_attn.k_proj.weight")).toEqual({ name: "visual.transformer.resblocks.3.attn.in_proj_weight", third: 1 });
    expect(openClipName("text_model.encoder.layers.0.mlp.fc2.bias")).toEqual({ name: "transformer.resblocks.0.mlp.c_proj.bias" });
    expect(openClipName("visual_projection.weight")).toEqual({ name: "visual.proj" });
  });
});

describe("ImageReward's import", () => {
  it("imports the golden ImageReward folder: one graph in each precision, the tokenizer copied, BLIP's constants", async () => {
    const out = path.join(tempDir(), "imagereward");
    const m = await importReward({ reward: "imagereward", from: copyOf("ImageReward"), out });
    expect(m.reward).toBe("imagereward");
    expect(m.tokenizer).toBe("tokenizer");
    expect(Object.keys(m.graphs.float32 ?? {})).toEqual(["image_reward"]);
    expect(Object.keys(m.graphs)).toEqual(["float32", "float16", "bfloat16"]);
    expect(readdirSync(path.join(out, "tokenizer")).sort()).toEqual(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);
    // golden.json's score_mean and score_std: the float32 values the reference used
    const golden = rewardsGolden.cases.find((c) => c.metric === "image_reward") as unknown as { score_mean: number; score_std: number };
    expect(m.constants).toEqual({
      scorer: "blip-itm",
      image: { kind: "pillow-bicubic", size: 224, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
      text_max_length: 35,
      score_mean: golden.score_mean,
      score_std: golden.score_std,
    });
  });

  it("--synthetic tiny makes an ImageReward directory that scores (one prompt, a batch of images, as each alone)", async () => {
    const out = path.join(tempDir(), "imagereward-synthetic");
    const m = await importSyntheticReward("imagereward", "tiny", out, () => {});
    expect(m).toMatchObject({ reward: "imagereward", synthetic: "imagereward-tiny", weights_dtype: "float32", constants: { scorer: "blip-itm", text_max_length: 35 } });
    const scorer = await RewardScorer.open(out, "float32", { kind: "cpu", index: 0, intraOpThreads: 1 });
    try {
      const images = ["sq256", "land160x224"].map((name) => {
        const c = rewardsGolden.cases.find((x) => x.image === name)!;
        return { rgb: goldenImages.get(`${name}.image_uint8`) as Uint8Array, height: c.height, width: c.width };
      });
      const batch = await scorer.score("a red fox in the snow", images);
      const alone = await Promise.all(images.map(async (img) => (await scorer.score("a red fox in the snow", [img]))[0].score));
      batch.forEach((s, i) => expect(Math.abs(s.score - alone[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(alone[i]))));
      expect(batch[0].score).not.toBe(batch[1].score);
      expect(Number.isFinite(batch[0].score)).toBe(true);
    } finally {
      await scorer.release();
    }
  });
});
