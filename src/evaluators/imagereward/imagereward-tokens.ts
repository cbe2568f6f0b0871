/**
 * ImageReward's prompt tokens: transformers' BertTokenizer from the ImageReward folder, with the
 * [DEC] and [ENC] tokens ImageReward adds (ids len(vocab) and len(vocab) + 1; they never appear
 * unless a prompt spells them), called as `tokenizer([p], padding="max_length", truncation=True,
 * max_length=35)`: [CLS], the first max_length - 2 word pieces, [SEP], then [PAD] to max_length.
 * tokenizer.json is read when the folder has one, else the same pipeline is built from vocab.txt
 * and tokenizer_config.json's do_lower_case, as BertTokenizer builds it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelInputError } from "../../models/model-error.js";
import { readJsonObject } from "../../models/json-file.js";

export const IMAGE_REWARD_MAX_LENGTH = 35;

export interface ImageRewardTokens {
  /** int64 [maxLength]: [CLS] ... [SEP] [PAD]... */
  inputIds: BigInt64Array;
  /** int64 [maxLength]: 1 on [CLS], the word pieces and [SEP], 0 on padding */
  attentionMask: BigInt64Array;
  /** word pieces past maxLength - 2 were dropped */
  truncated: boolean;
}

export interface ImageRewardTokenizer {
  readonly maxLength: number;
  encode(prompt: string): ImageRewardTokens;
}

type Json = Record<string, unknown>;

/** A special token of tokenizer_config.json / special_tokens_map.json: a string or an AddedToken {content}. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as Json).content === "string") return (value as Json).content as string;
  return undefined;
}

/** tokenizer.json's content as BertTokenizer(vocab_file, do_lower_case) builds it. */
function pipelineFromVocab(vocabFile: string, lowercase: boolean, specials: Record<"unk" | "cls" | "sep", string>): Json {
  if (!existsSync(vocabFile)) throw new ModelInputError(`${vocabFile}: file not found (nor tokenizer.json beside it)`);
  const vocab: Record<string, number> = {};
  readFileSync(vocabFile, "utf8")
    .split("\n")
    .forEach((line, i, lines) => {
      const token = line.replace(/\r$/, "");
      if (token === "" && i === lines.length - 1) return;
      if (!(token in vocab)) vocab[token] = i;
    });
  for (const [role, token] of Object.entries(specials)) {
    if (!(token in vocab)) throw new ModelInputError(`${vocabFile}: the ${role} token ${token} is not in the vocabulary`);
  }
  const added = Object.entries(vocab)
    .filter(([token]) => /^\[[A-Za-z0-9_]+\]$/.test(token) && !/^\[unused\d+\]$/.test(token))
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: "BertPreTokenizer" },
    model: { type: "WordPiece", unk_token: specials.unk, continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: specials.cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: specials.sep, type_id: 0 } }],
      pair: [],
      special_tokens: {
        [specials.cls]: { id: specials.cls, ids: [vocab[specials.cls]], tokens: [specials.cls] },
        [specials.sep]: { id: specials.sep, ids: [vocab[specials.sep]], tokens: [specials.sep] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  };
}

/** The ids a TemplateProcessing post-processor puts around a single sequence ([CLS] A [SEP]). */
function templateAffixes(json: Json, file: string): { prefix: number[]; suffix: number[] } {
  const p = json.post_processor as Json | null | undefined;
  if (!p || p.type !== "TemplateProcessing" || !Array.isArray(p.single)) {
    throw new ModelInputError(`${file}: post_processor must be a TemplateProcessing ([CLS] A [SEP]), got ${JSON.stringify(p?.type ?? null)}`);
  }
  const specials = (p.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
  const out = { prefix: [] as number[], suffix: [] as number[] };
  let seen = false;
  for (const item of p.single as Json[]) {
    if ("Sequence" in item) {
      seen = true;
      continue;
    }
    const id = (item.SpecialToken as { id?: string } | undefined)?.id;
    const ids = id === undefined ? undefined : specials[id]?.ids;
    if (!ids) throw new ModelInputError(`${file}: post_processor names special token ${String(id)} but does not define it`);
    (seen ? out.suffix : out.prefix).push(...ids);
  }
  return out;
}

/** The BERT tokenizer of an ImageReward folder (tokenizer.json or vocab.txt, tokenizer_config.json). */
export function loadImageRewardTokenizer(dir: string, maxLength = IMAGE_REWARD_MAX_LENGTH): ImageRewardTokenizer {
  const configFile = path.join(dir, "tokenizer_config.json");
  const config = readJsonObject(configFile);
  const mapFile = path.join(dir, "special_tokens_map.json");
  const map = existsSync(mapFile) ? readJsonObject(mapFile) : {};
  const special = (key: string, fallback: string) => tokenText(config[key]) ?? tokenText(map[key]) ?? fallback;
  const jsonFile = path.join(dir, "tokenizer.json");
  const json = existsSync(jsonFile)
    ? readJsonObject(jsonFile)
    : pipelineFromVocab(path.join(dir, "vocab.txt"), config.do_lower_case !== false, {
        unk: special("unk_token", "[UNK]"),
        cls: special("cls_token", "[CLS]"),
        sep: special("sep_token", "[SEP]"),
      });
  const source = existsSync(jsonFile) ? jsonFile : path.join(dir, "vocab.txt");
  const affixes = templateAffixes(json, source);
  const base = new Tokenizer(json, config);
  // ImageReward's init_tokenizer: add_special_tokens({bos_token: "[DEC]"}) and additional_special_tokens ["[ENC]"]
  const size = Math.max(...base.get_vocab(true).values()) + 1;
  const added = (json.added_tokens as Json[] | undefined) ?? [];
  const extra = ["[DEC]", "[ENC]"]
    .filter((t) => base.token_to_id(t) === undefined)
    .map((content, i) => ({ id: size + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizer = new Tokenizer({ ...json, added_tokens: [...added, ...extra] }, config);
  const padText = special("pad_token", "[PAD]");
  const padId = tokenizer.token_to_id(padText);
  if (padId === undefined) throw new ModelInputError(`${configFile}: pad_token ${padText} is not in the vocabulary`);
  const budget = maxLength - affixes.prefix.length - affixes.suffix.length;
  if (budget < 0) throw new RangeError(`maxLength ${maxLength} is shorter than the special tokens`);

  return {
    maxLength,
    encode(prompt: string): ImageRewardTokens {
      const content = tokenizer.encode(prompt, { add_special_tokens: false }).ids;
      const truncated = content.length > budget;
      const ids = [...affixes.prefix, ...content.slice(0, budget), ...affixes.suffix];
      const inputIds = new BigInt64Array(maxLength).fill(BigInt(padId));
      const attentionMask = new BigInt64Array(maxLength);
      ids.forEach((id, i) => {
        inputIds[i] = BigInt(id);
        attentionMask[i] = 1n;
      });
      return { inputIds, attentionMask, truncated };
    },
  };
}
