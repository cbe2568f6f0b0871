/**
 * An ImageReward folder as a DiffSynth user has it (ImageMetrics/ImageReward/): config.json,
 * model.safetensors and bert-base-uncased's tokenizer files, read and cross-checked before anything
 * is built from it. The tokenizer is loaded by evaluators/imagereward/imagereward-tokens.ts from
 * the files named here.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ModelInputError } from "../model-error.js";
import { Checkpoint } from "../safetensors.js";
import { checkImageRewardWeights, parseImageRewardConfig, type ImageRewardConfig } from "./imagereward-config.js";
import { readJsonFile } from "../json-file.js";

/** The tokenizer files the folder may hold: tokenizer.json or vocab.txt, and tokenizer_config.json. */
export const IMAGE_REWARD_TOKENIZER_FILES = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] as const;

export interface ImageRewardFolder {
  config: ImageRewardConfig;
  checkpoint: Checkpoint;
  /** the tokenizer files present, absolute paths */
  tokenizerFiles: string[];
}

/** WordPiece entries (ids 0..n-1) of tokenizer.json or vocab.txt. */
function wordPieceCount(dir: string): { file: string; count: number } {
  const json = path.join(dir, "tokenizer.json");
  if (existsSync(json)) {
    const model = (readJsonFile(json) as { model?: { type?: unknown; vocab?: unknown } }).model;
    if (model?.type !== "WordPiece" || typeof model.vocab !== "object" || model.vocab === null) {
      throw new ModelInputError(`${json}: expected a WordPiece model (BERT's tokenizer), got ${JSON.stringify(model?.type ?? null)}`);
    }
    return { file: json, count: Object.keys(model.vocab).length };
  }
  const vocab = path.join(dir, "vocab.txt");
  if (!existsSync(vocab)) throw new ModelInputError(`${vocab}: file not found (nor tokenizer.json): the folder has no BERT tokenizer`);
  return { file: vocab, count: readFileSync(vocab, "utf8").replace(/\n$/, "").split("\n").length };
}

/** Reads an ImageReward folder; every file checked against the others, refusals in one line. */
export function readImageRewardFolder(dir: string): ImageRewardFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelInputError(`${dir}: not a folder`);
  const configFile = path.join(dir, "config.json");
  const config = parseImageRewardConfig(readJsonFile(configFile), configFile);
  const checkpoint = new Checkpoint(dir, "model");
  checkImageRewardWeights(config, checkpoint, configFile);
  const tokenizerConfig = path.join(dir, "tokenizer_config.json");
  if (!existsSync(tokenizerConfig)) throw new ModelInputError(`${tokenizerConfig}: file not found`);
  // ImageReward appends [DEC] and [ENC] to the vocabulary and resizes the word embeddings to match
  const pieces = wordPieceCount(dir);
  if (pieces.count + 2 !== config.text.vocabSize) {
    throw new ModelInputError(
      `${pieces.file}: ${pieces.count} word pieces, so ${pieces.count + 2} with [DEC] and [ENC]; the word embeddings (${configFile} text_config.vocab_size) have ${config.text.vocabSize} rows`,
    );
  }
  const tokenizerFiles = IMAGE_REWARD_TOKENIZER_FILES.map((f) => path.join(dir, f)).filter((f) => existsSync(f));
  return { config, checkpoint, tokenizerFiles };
}
