/** `sweep models import --reward`: configs checked against the weights before anything is written; one line each. */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelInputError } from "../src/models/model-error.js";
import { importReward } from "../src/models/rewards/import-reward.js";
import { openClipName } from "../src/models/rewards/open-clip-weights.js";
import { readRewardManifest } from "../src/models/rewards/reward-manifest.js";
import { tempDir } from "./cli.js";
import { imageMetricsDir } from "./rewards-reference.js";

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

  it("a folder of another reward, and ImageReward not yet", async () => {
    await refused("clip", copyOf("Aesthetic"), /has a CLIP vision tower and an MLP head \(an Aesthetic checkpoint\); --reward clip needs HF CLIPModel keys/);
    await refused("imagereward", copyOf("ImageReward"), /reward 'imagereward' is not yet supported/);
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
