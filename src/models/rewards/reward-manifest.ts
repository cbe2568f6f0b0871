/**
 * A reward model directory's manifest.json (kind "reward"): which reward, every file with its digest,
 * every graph per compute precision, and the constants its scorer needs. Files, graphs and
 * signatures have the same form as the flux2-pickscore manifest's, so the same checks apply.
 */
import { z } from "zod";
import { clipImageFields, GRAPH_VERSION, MANIFEST_FORMAT, precisionSchema, readManifestJson, signatureSchema } from "../manifest.js";
import { ModelInputError } from "../model-error.js";
import { REWARD_NAMES } from "./reward-names.js";

export { REWARD_NAMES, type RewardName } from "./reward-names.js";

const graph = z.strictObject({ file: z.string(), inputs: z.array(signatureSchema), outputs: z.array(signatureSchema) });
const precision = precisionSchema;

/** transformers' CLIPImageProcessor (torchvision backend): shortest edge, centre crop, normalise. */
const clipImage = z.strictObject({ kind: z.literal("clip"), ...clipImageFields });

/** ImageReward's torchvision v1 transform on the PIL image: Pillow's bicubic short-side resize, centre crop (offsets rounded half to even), ToTensor, normalise. */
const pillowImage = z.strictObject({
  kind: z.literal("pillow-bicubic"),
  size: z.number().int(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number(), z.number(), z.number()]),
});

const rewardConstants = z.discriminatedUnion("scorer", [
  /** a text and a vision tower; score = exp(logit_scale) x cosine (DiffSynth), cosine on request */
  z.strictObject({
    scorer: z.literal("clip-pair"),
    image: clipImage,
    text_max_length: z.number().int(),
    logit_scale: z.number(),
    projection_dim: z.number().int(),
  }),
  /** a vision tower and a head; the head's output is the score (no prompt) */
  z.strictObject({
    scorer: z.literal("clip-head"),
    image: clipImage,
    projection_dim: z.number().int(),
  }),
  /** ImageReward: one graph (BLIP ViT, BERT cross-attending to it, MLP head); score = (raw - score_mean) / score_std, inside the graph in float32 */
  z.strictObject({
    scorer: z.literal("blip-itm"),
    image: pillowImage,
    /** BertTokenizer's max_length: [CLS], up to max - 2 word pieces, [SEP], padding */
    text_max_length: z.number().int(),
    score_mean: z.number(),
    score_std: z.number(),
  }),
]);
export type RewardConstants = z.infer<typeof rewardConstants>;
export type ClipImageConstants = z.infer<typeof clipImage>;
export type PillowImageConstants = z.infer<typeof pillowImage>;

export const rewardManifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  kind: z.literal("reward"),
  reward: z.enum(REWARD_NAMES),
  /** the graphs' build (the flux2 manifest's graph_version): older directories are imported again */
  graph_version: z.literal(GRAPH_VERSION),
  tool_version: z.string(),
  created: z.string(),
  /** null for imported checkpoints; the synthetic model's name otherwise */
  synthetic: z.string().nullable(),
  sources: z.record(z.string(), z.strictObject({ dir: z.string(), files: z.array(z.strictObject({ path: z.string(), bytes: z.number(), sha256: z.string() })) })),
  files: z.array(z.strictObject({ path: z.string(), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  graphs: z.partialRecord(precision, z.record(z.string(), graph)),
  weights_dtype: z.enum(["float32", "float16", "bfloat16"]),
  constants: rewardConstants,
  /** folders of the model directory: the tokenizer files (null without a prompt), the processor files */
  tokenizer: z.string().nullable(),
});
export type RewardManifest = z.infer<typeof rewardManifestSchema>;

/** The manifest of a reward model directory; a flux2-pickscore directory or a damaged manifest is one clear line. */
export function readRewardManifest(modelDir: string): RewardManifest {
  const { file, json } = readManifestJson(modelDir, "sweep models import --reward");
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (kind !== "reward") throw new ModelInputError(`${file}: kind is ${JSON.stringify(kind ?? null)}; a reward model directory (made by 'sweep models import --reward KIND') expected`);
  const version = (json as { graph_version?: unknown }).graph_version;
  if (version !== GRAPH_VERSION) {
    throw new ModelInputError(`${file}: graphs of graph version ${JSON.stringify(version ?? null)}, this sweep builds version ${GRAPH_VERSION}: run 'sweep models import --reward ...' again for ${modelDir} (the weights are linked, not copied)`);
  }
  const parsed = rewardManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelInputError(`${file}: field '${issue.path.join(".")}': ${issue.message}`);
  }
  return parsed.data;
}
