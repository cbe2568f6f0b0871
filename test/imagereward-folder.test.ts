import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readImageRewardFolder } from "../src/models/imagereward/imagereward-folder.js";
import { ModelInputError } from "../src/models/model-error.js";
import { scratchDir } from "./flux2-reference.js";
import { imageRewardDir, rewardsDir } from "./imagereward-reference.js";

const dir = scratchDir();

/** A copy of the golden folder, some files left out or replaced. */
function folderWith(name: string, leaveOut: string[], replace: Record<string, string> = {}): string {
  const target = path.join(dir, name);
  mkdirSync(target, { recursive: true });
  for (const f of readdirSync(imageRewardDir)) if (!leaveOut.includes(f)) copyFileSync(path.join(imageRewardDir, f), path.join(target, f));
  for (const [f, content] of Object.entries(replace)) writeFileSync(path.join(target, f), content);
  return target;
}

function refusal(folder: string): string {
  try {
    readImageRewardFolder(folder);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelInputError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error(`${folder} was accepted`);
}

describe("reading an ImageReward folder", () => {
  it("reads the golden folder: config, checked weights, tokenizer files", () => {
    const folder = readImageRewardFolder(imageRewardDir);
    expect(folder.config.text.vocabSize).toBe(322);
    expect(folder.checkpoint.has("blip.visual_encoder.pos_embed")).toBe(true);
    expect(folder.tokenizerFiles.map((f) => path.basename(f))).toEqual(["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]);
  });

  it("refuses the other rewards' folders by their config", () => {
    expect(refusal(path.join(rewardsDir, "ImageMetrics-tiny/HPSv2"))).toMatch(/HPSv2\/config\.json: "model_type" must be "blip" .*\(got "clip"\)/);
    expect(refusal(path.join(rewardsDir, "ImageMetrics-tiny/Aesthetic"))).toMatch(/Aesthetic\/config\.json: "model_type" must be "blip" .*\(got "clip_vision_model"\)/);
  });

  it("refuses missing files, naming them", () => {
    expect(refusal(folderWith("no-weights", ["model.safetensors"]))).toMatch(/no-weights\/model\.safetensors: file not found/);
    expect(refusal(folderWith("no-config", ["config.json"]))).toMatch(/no-config\/config\.json: file not found/);
    expect(refusal(folderWith("no-tokenizer", ["tokenizer.json", "vocab.txt"]))).toMatch(/no-tokenizer\/vocab\.txt: file not found \(nor tokenizer\.json\)/);
    expect(refusal(folderWith("no-tokenizer-config", ["tokenizer_config.json"]))).toMatch(/no-tokenizer-config\/tokenizer_config\.json: file not found/);
    expect(refusal(path.join(dir, "absent"))).toMatch(/absent: not a folder/);
  });

  it("refuses a tokenizer whose vocabulary does not fit the word embeddings", () => {
    const vocab = `${["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"].join("\n")}\n`;
    expect(refusal(folderWith("small-vocab", ["tokenizer.json"], { "vocab.txt": vocab }))).toMatch(
      /small-vocab\/vocab\.txt: 6 word pieces, so 8 with \[DEC\] and \[ENC\]; the word embeddings .* have 322 rows/,
    );
  });

  it("refuses a truncated checkpoint", () => {
    const folder = folderWith("truncated", [], { "model.safetensors": "\u0010\u0000\u0000\u0000\u0000\u0000\u0000\u0000{}" });
    expect(refusal(folder)).toMatch(/truncated\/model\.safetensors: /);
  });
});
