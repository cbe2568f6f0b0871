/** JSON files of checkpoints and tokenizers, read with one-line errors naming the file. */
import { existsSync, readFileSync } from "node:fs";
import { ModelInputError } from "./model-error.js";

export function readJsonFile(file: string): unknown {
  if (!existsSync(file)) throw new ModelInputError(`${file}: file not found`);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ModelInputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** A JSON file that must hold an object (tokenizer configs, processor configs). */
export function readJsonObject(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ModelInputError(`${file}: not valid JSON (not an object)`);
  return value as Record<string, unknown>;
}
