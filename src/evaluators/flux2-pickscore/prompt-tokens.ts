/**
 * The two prompt tokenisations of the FLUX.2-klein + PickScore evaluation, as the reference runs them:
 * - Qwen3 (DiffSynth's Flux2ImagePipeline.get_qwen3_prompt_embeds): the chat template with
 *   add_generation_prompt=True, enable_thinking=False, then tokenizer(text, padding="max_length",
 *   truncation=True, max_length=512);
 * - CLIP (the tutorial's PickScore): processor(text=prompt, padding=True, truncation=True,
 *   max_length=77), one prompt, so nothing is padded.
 * Truncation is done here, not by the tokenizer library (which has none): like the Rust tokenizers, the
 * content is cut to max_length minus the special tokens the post-processor adds, then those are added.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelInputError } from "../../models/model-error.js";
import { readJsonObject } from "../../models/json-file.js";

export interface QwenPromptEncoding {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** The prompt did not fit: tokens past maxLength were dropped. */
  truncated: boolean;
  /** The rendered chat template, the text that was tokenised. */
  chatText: string;
}

export interface QwenPromptTokenizer {
  readonly maxLength: number;
  encode(prompt: string): QwenPromptEncoding;
}

export interface ClipTokenEncoding {
  inputIds: BigInt64Array;
  truncated: boolean;
}

export interface ClipPromptTokenizer {
  readonly maxLength: number;
  encode(prompt: string): ClipTokenEncoding;
}

type Json = Record<string, unknown>;

function readText(file: string): string {
  if (!existsSync(file)) throw new ModelInputError(`${file}: file not found`);
  return readFileSync(file, "utf8");
}

/** A special token in tokenizer_config.json is a string or an AddedToken object {content}. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as Json).content === "string") return (value as Json).content as string;
  return undefined;
}

/** padding_side / truncation_side: "right" (the default) or "left". */
function isLeft(config: Json, field: string, file: string): boolean {
  const value = config[field] ?? "right";
  if (value !== "left" && value !== "right") throw new ModelInputError(`${file}: ${field} must be "left" or "right", got ${JSON.stringify(value)}`);
  return value === "left";
}

/** The ids the post-processor puts before and after a single sequence. */
interface Affixes {
  prefix: number[];
  suffix: number[];
}

function postProcessorAffixes(processor: unknown, file: string): Affixes {
  if (processor === null || processor === undefined) return { prefix: [], suffix: [] };
  const p = processor as Json;
  switch (p.type) {
    case "ByteLevel":
      return { prefix: [], suffix: [] };
    case "RobertaProcessing":
    case "BertProcessing":
      return { prefix: [(p.cls as [string, number])[1]], suffix: [(p.sep as [string, number])[1]] };
    case "TemplateProcessing": {
      const specials = (p.special_tokens ?? {}) as Record<string, { ids: number[] }>;
      const out: Affixes = { prefix: [], suffix: [] };
      let seenSequence = false;
      for (const item of p.single as Json[]) {
        if ("Sequence" in item) {
          seenSequence = true;
          continue;
        }
        const id = (item.SpecialToken as { id: string }).id;
        const ids = specials[id]?.ids;
        if (!ids) throw new ModelInputError(`${file}: post_processor names special token ${id} but does not define it`);
        (seenSequence ? out.suffix : out.prefix).push(...ids);
      }
      return out;
    }
    case "Sequence": {
      const out: Affixes = { prefix: [], suffix: [] };
      for (const inner of p.processors as unknown[]) {
        const a = postProcessorAffixes(inner, file);
        out.prefix.push(...a.prefix);
        out.suffix.push(...a.suffix);
      }
      return out;
    }
    default:
      throw new ModelInputError(`${file}: unsupported post_processor type ${JSON.stringify(p.type)}`);
  }
}

/** A tokenizer folder's tokenizer.json + tokenizer_config.json, encoding with truncation to a budget. */
class TruncatingTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly affixes: Affixes;
  private readonly truncateLeft: boolean;

  constructor(
    private readonly dir: string,
    config: Json,
  ) {
    const file = path.join(dir, "tokenizer.json");
    const json = readJsonObject(file);
    this.affixes = postProcessorAffixes(json.post_processor, file);
    this.truncateLeft = isLeft(config, "truncation_side", path.join(dir, "tokenizer_config.json"));
    this.tokenizer = new Tokenizer(json, config);
  }

  /** Special tokens added, content truncated so the whole is at most maxLength ids. */
  encode(text: string, maxLength: number): { ids: number[]; truncated: boolean } {
    const budget = maxLength - this.affixes.prefix.length - this.affixes.suffix.length;
    if (budget < 0) throw new RangeError(`maxLength ${maxLength} is shorter than the special tokens`);
    let content = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const truncated = content.length > budget;
    if (truncated) content = this.truncateLeft ? content.slice(content.length - budget) : content.slice(0, budget);
    return { ids: [...this.affixes.prefix, ...content, ...this.affixes.suffix], truncated };
  }

  tokenId(token: string, field: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new ModelInputError(`${path.join(this.dir, "tokenizer_config.json")}: ${field} ${token} is not in the vocabulary`);
    return id;
  }
}

/** chat_template.jinja, else tokenizer_config.json's chat_template (a string or a list of named templates). */
function chatTemplate(dir: string, config: Json): string {
  const jinja = path.join(dir, "chat_template.jinja");
  if (existsSync(jinja)) return readText(jinja);
  const inline = config.chat_template;
  if (typeof inline === "string") return inline;
  if (Array.isArray(inline)) {
    const named = (inline as { name?: string; template?: string }[]).find((t) => t.name === "default");
    if (typeof named?.template === "string") return named.template;
  }
  throw new ModelInputError(`${jinja}: file not found, and ${path.join(dir, "tokenizer_config.json")} has no chat_template`);
}

/** The special tokens transformers passes to a chat template (bos_token, eos_token, ...). */
function specialTokenVariables(config: Json): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]) {
    const text = tokenText(config[key]);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

export function loadQwenPromptTokenizer(dir: string, maxLength = 512): QwenPromptTokenizer {
  const configFile = path.join(dir, "tokenizer_config.json");
  const config = readJsonObject(configFile);
  const template = new Template(chatTemplate(dir, config));
  const tokenizer = new TruncatingTokenizer(dir, config);
  const padText = tokenText(config.pad_token);
  if (padText === undefined) throw new ModelInputError(`${configFile}: pad_token is missing`);
  const padId = BigInt(tokenizer.tokenId(padText, "pad_token"));
  const padLeft = isLeft(config, "padding_side", configFile);
  const variables = specialTokenVariables(config);

  return {
    maxLength,
    encode(prompt: string): QwenPromptEncoding {
      const chatText = template.render({
        ...variables,
        messages: [{ role: "user", content: prompt }],
        add_generation_prompt: true,
        enable_thinking: false,
      });
      const { ids, truncated } = tokenizer.encode(chatText, maxLength);
      const inputIds = new BigInt64Array(maxLength).fill(padId);
      const attentionMask = new BigInt64Array(maxLength);
      const start = padLeft ? maxLength - ids.length : 0;
      for (let i = 0; i < ids.length; i++) {
        inputIds[start + i] = BigInt(ids[i]);
        attentionMask[start + i] = 1n;
      }
      return { inputIds, attentionMask, truncated, chatText };
    },
  };
}

export function loadClipTokenizer(dir: string, maxLength = 77): ClipPromptTokenizer {
  const tokenizer = new TruncatingTokenizer(dir, readJsonObject(path.join(dir, "tokenizer_config.json")));
  return {
    maxLength,
    encode(prompt: string): ClipTokenEncoding {
      const { ids, truncated } = tokenizer.encode(prompt, maxLength);
      return { inputIds: BigInt64Array.from(ids, (id) => BigInt(id)), truncated };
    },
  };
}
