/**
 * The tokenizer files of a synthetic ImageReward folder: a WordPiece vocabulary of the size the
 * word embeddings need (their rows minus [DEC] and [ENC], which the tokenizer adds), in
 * bert-base-uncased's file format. Its pieces are single characters, so every ASCII prompt
 * tokenises without [UNK]; the rest of the vocabulary is [unusedN] filler.
 */
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** File name -> content, for a model whose word_embeddings have `embeddingRows` rows. */
export function syntheticImageRewardTokenizerFiles(embeddingRows: number): Record<string, string> {
  // printable ASCII without upper case (the normaliser lower-cases first)
  const chars = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => c < "A" || c > "Z");
  const tokens = [...SPECIALS, ...chars, ...chars.map((c) => `##${c}`)];
  const size = embeddingRows - 2;
  if (size < tokens.length) throw new RangeError(`a synthetic BERT vocabulary needs at least ${tokens.length + 2} embedding rows, got ${embeddingRows}`);
  for (let i = 0; tokens.length < size; i++) tokens.push(`[unused${i}]`);
  return {
    "vocab.txt": `${tokens.join("\n")}\n`,
    "tokenizer_config.json": `${JSON.stringify({ do_lower_case: true, model_max_length: 512 }, null, 2)}\n`,
    "special_tokens_map.json": `${JSON.stringify({ unk_token: "[UNK]", sep_token: "[SEP]", pad_token: "[PAD]", cls_token: "[CLS]", mask_token: "[MASK]" }, null, 2)}\n`,
  };
}
