import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadImageRewardTokenizer } from "../src/evaluators/imagereward/imagereward-tokens.js";
import { IMAGE_REWARD_DIMS } from "../src/models/imagereward/imagereward-config.js";
import { syntheticImageRewardTokenizerFiles } from "../src/models/imagereward/synthetic-tokenizer.js";
import { ModelInputError } from "../src/models/model-error.js";
import { imageRewardCases, imageRewardDir, loadTensors } from "./imagereward-reference.js";

const traces = imageRewardCases.map((c) => ({ c, trace: loadTensors(c.trace) }));

/** The folder without tokenizer.json: BertTokenizer builds the same pipeline from vocab.txt. */
const vocabOnly = mkdtempSync(path.join(os.tmpdir(), "sweep-ir-vocab-"));
for (const f of ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]) copyFileSync(path.join(imageRewardDir, f), path.join(vocabOnly, f));
afterAll(() => rmSync(vocabOnly, { recursive: true, force: true }));

describe("ImageReward tokens (BertTokenizer, max_length 35, padded)", () => {
  it("the golden prompts cover truncation, [UNK] and whitespace runs", () => {
    expect(imageRewardCases.map((c) => [c.truncated, c.n_unk > 0])).toContainEqual([true, false]);
    expect(imageRewardCases.some((c) => c.n_unk > 0)).toBe(true);
  });
  for (const [label, dir] of [
    ["tokenizer.json", imageRewardDir],
    ["vocab.txt", vocabOnly],
  ] as const) {
    const tokenizer = loadImageRewardTokenizer(dir);
    for (const { c, trace } of traces) {
      it(`${label}: case ${c.case} gives the golden input_ids and attention_mask`, () => {
        const out = tokenizer.encode(c.prompt);
        expect(trace.get("input_ids")!.shape).toEqual([1, 35]);
        expect([...out.inputIds]).toEqual([...(trace.get("input_ids")!.data as BigInt64Array)]);
        expect([...out.attentionMask]).toEqual([...(trace.get("attention_mask")!.data as BigInt64Array)]);
        expect(out.truncated).toBe(c.truncated);
        expect(out.attentionMask.reduce((a, b) => a + b, 0n)).toBe(BigInt(c.n_real_tokens));
      });
    }
  }
  it("[DEC] and [ENC] are the two ids after the vocabulary, matched only where a prompt spells them", () => {
    const ids = [...loadImageRewardTokenizer(imageRewardDir).encode("a [DEC] b [ENC]").inputIds];
    expect(ids.slice(0, 6)).toEqual([7n, ids[1], 320n, ids[3], 321n, 8n]);
  });
  it("refuses a folder without tokenizer files in one line", () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "sweep-ir-empty-"));
    try {
      expect(() => loadImageRewardTokenizer(empty)).toThrow(ModelInputError);
      expect(() => loadImageRewardTokenizer(empty)).toThrow(/tokenizer_config\.json: file not found/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
  it("a synthetic folder at real size: every id within the word embeddings, ASCII prompts without [UNK]", () => {
    const rows = IMAGE_REWARD_DIMS.real.text.vocab;
    const dir = mkdtempSync(path.join(os.tmpdir(), "sweep-ir-synthetic-"));
    try {
      for (const [file, content] of Object.entries(syntheticImageRewardTokenizerFiles(rows))) writeFileSync(path.join(dir, file), content);
      const tokenizer = loadImageRewardTokenizer(dir);
      for (const c of imageRewardCases) {
        const { inputIds } = tokenizer.encode(c.prompt);
        expect(inputIds.every((id) => id >= 0n && id < BigInt(rows))).toBe(true);
      }
      // [UNK] is id 1 in the synthetic vocabulary
      const ascii = tokenizer.encode(imageRewardCases[0].prompt).inputIds;
      expect(ascii[1]).toBe(BigInt(syntheticImageRewardTokenizerFiles(rows)["vocab.txt"].split("\n").indexOf("a")));
      expect(ascii.includes(1n)).toBe(false);
      expect(tokenizer.encode("[ENC]").inputIds[1]).toBe(BigInt(rows - 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
