/**
 * The sweep YAML's schema: field names, types, defaults (a strategy's own options come from its
 * module, through the registry). Rules across fields and files are load.ts's.
 */
import { z } from "zod";
import { WORKER_ENTRY } from "../domain/worker-address.js";
import { STRATEGIES, strategyEntrySchema } from "../strategies/registry.js";

const positiveInt = z.number().int().min(1);
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER, "a seed is at most 2^53-1 = 9007199254740991 (larger integers are not exact as numbers)")
  .describe("A torch CPU seed: torch.Generator('cpu').manual_seed(seed) makes the base noise");
/** The largest budget: what a search records is held in memory (17 bytes an evaluation) to resume it. */
export const MAX_BUDGET = 1_000_000_000;
const label = z.string().regex(/^[A-Za-z0-9_.+-]+$/, "a label is letters, digits and _ . + - only")
  .describe("Name of this strategy entry in CSVs and reports; unique per sweep; default: its name");

export const strategySchema = strategyEntrySchema(
  (m) => z.strictObject({ name: z.literal(m.name), label: label.optional(), ...m.options.shape }).describe(m.description),
  {
    error: (issue) => issue.code === "invalid_union"
      ? `unknown strategy name (expected one of: ${STRATEGIES.map((m) => m.name).join(", ")})`
      : undefined,
  },
);

/**
 * Bounds that keep a mistyped size from running every evaluation out of memory. A noise is C x H x W
 * float32 values, and a worker and an SES population hold many at once: at most 2^24 values (64 MiB).
 */
export const MAX_NOISE_VALUES = 2 ** 24;
/** FLUX.2-klein makes images of up to about 4 megapixels; attention grows with the square of its (height/16)(width/16) tokens. */
export const MAX_IMAGE_SIDE = 2048;
/** More steps than this change nothing of a flow-matching schedule but the time: each step is a full transformer run. */
export const MAX_STEPS = 1000;

const shapeSchema = z.tuple([z.literal(1), positiveInt, positiveInt, positiveInt])
  .refine(([, c, h, w]) => c * h * w <= MAX_NOISE_VALUES, {
    message: `at most ${MAX_NOISE_VALUES.toLocaleString("en-US")} values (C x H x W): each candidate's noise is that many float32s, and workers and SES hold many at once`,
  })
  .describe("Noise shape (1, C, H, W); FLUX.2 latents at 1024x1024 are (1, 128, 64, 64)");

const evaluatorCommon = {
  shape: shapeSchema.default([1, 128, 64, 64]),
  timeout_s: z.number().positive().default(600).describe("Seconds one evaluation may take before it counts as failed"),
  retries: z.number().int().min(0).default(2).describe("Further attempts of a failed evaluation before its search fails"),
};

export const syntheticEvaluatorSchema = z.strictObject({
  kind: z.literal("synthetic"),
  ...evaluatorCommon,
  latency_ms: z.number().min(0).default(0).describe("Simulated time per evaluation, to exercise scheduling without GPUs"),
  jitter_ms: z.number().min(0).default(0).describe("Uniform jitter (+/-) added to latency_ms"),
}).describe("Built-in deterministic, prompt-dependent landscape dominated by low-frequency structure (docs/evaluators.md)");

export const moduleEvaluatorSchema = z.strictObject({
  kind: z.literal("module"),
  ...evaluatorCommon,
  path: z.string().min(1).describe("ES module whose default export score({ noise, shape, prompt, promptIndex }) returns a number; relative to this file"),
}).describe("Your own scoring function");

export const noopEvaluatorSchema = z.strictObject({
  kind: z.literal("noop"),
  ...evaluatorCommon,
}).describe("Scores a candidate from its recipe alone, without materialising noise: a tool to measure the runner");

export const SCORE_CONVENTIONS = ["cosine", "logit"] as const;
export const PRECISIONS = ["float32", "float16", "bfloat16"] as const;

const modelName = z.string().regex(/^[A-Za-z0-9_.+-]+$/, "a model is a folder name under the worker's model root (letters, digits, _ . + -)")
  .refine((m) => m !== "." && m !== "..", "a model is a folder name under the worker's model root");

export const flux2PickScoreEvaluatorSchema = z.strictObject({
  kind: z.literal("flux2-pickscore"),
  shape: shapeSchema.optional().describe("Follows from height and width: (1, 128, height/16, width/16); a shape that disagrees is an error"),
  timeout_s: evaluatorCommon.timeout_s,
  retries: evaluatorCommon.retries,
  model: z.string().regex(/^[A-Za-z0-9_.+-]+$/, "a model is a folder name under the worker's model root (letters, digits, _ . + -)")
    .refine((m) => m !== "." && m !== "..", "a model is a folder name under the worker's model root")
    .describe("Model directory made by 'sweep models import', a folder under the worker's --model-root"),
  height: positiveInt.max(MAX_IMAGE_SIDE, `at most ${MAX_IMAGE_SIDE} pixels: FLUX.2-klein makes images of up to about 4 megapixels, and the transformer's attention grows with the square of (height/16)(width/16)`).default(1024).describe("Image height in pixels, a multiple of 16"),
  width: positiveInt.max(MAX_IMAGE_SIDE, `at most ${MAX_IMAGE_SIDE} pixels: FLUX.2-klein makes images of up to about 4 megapixels, and the transformer's attention grows with the square of (height/16)(width/16)`).default(1024).describe("Image width in pixels, a multiple of 16"),
  steps: positiveInt.max(MAX_STEPS, `at most ${MAX_STEPS}: more steps change nothing of the schedule but the time (each is a full transformer run; FLUX.2-klein is made for 4)`).default(4).describe("Denoising steps (FLUX.2-klein: 4)"),
  score: z.enum(SCORE_CONVENTIONS).default("cosine").describe("cosine: the tutorial's cosine similarity; logit: PickScore's convention, x exp(logit_scale)"),
  precision: z.enum(PRECISIONS).default("float32").describe("Compute precision of the graphs; float32 is exact against the reference on CPU"),
  max_batch: positiveInt.max(64).default(4).describe("Candidates of one prompt evaluated together; every batch runs padded to this size so scores do not depend on batch composition"),
  reward: modelName.optional().describe("Reward model directory ('sweep models import --reward') whose score the searches climb; default: the PickScore of `model`"),
  heldout: z.array(modelName).optional().describe("Reward model directories that score the best candidates once the searches are over (heldout.csv, the report's held-out table)"),
}).describe("FLUX.2-klein image generation scored by PickScore, on onnxruntime-node (docs/models.md)");

export const evaluatorSchema = z.discriminatedUnion("kind", [syntheticEvaluatorSchema, moduleEvaluatorSchema, noopEvaluatorSchema, flux2PickScoreEvaluatorSchema], {
  error: (issue) => issue.code === "invalid_union"
    ? `unknown evaluator kind (expected one of: synthetic, module, noop, flux2-pickscore)`
    : undefined,
});

export const sweepSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "a name is letters, digits and _ . - only").optional()
    .describe("Sweep name; runs go to <output>/<name>/<run id>; default: the file name"),
  description: z.string().optional(),
  prompts: z.array(z.string().regex(/\S/, "a prompt must not be empty").regex(/^[^\r\n]*$/, "a prompt must be one line"))
    .min(1, "list at least one prompt").optional()
    .describe("Prompts, inline; or use prompts_file"),
  prompts_file: z.string().min(1).optional().describe("A text file with one prompt per line, relative to this file"),
  seeds: z.array(seed).min(1, "list at least one seed").describe("Base-noise seeds; every (prompt, strategy) runs once per seed"),
  budgets: z.array(positiveInt.max(MAX_BUDGET, `a budget is at most ${MAX_BUDGET} evaluations: resuming a search or rebuilding its candidates holds its recorded scores in memory (17 bytes each, 17 GB at this limit)`))
    .min(1, "list at least one budget").describe("Evaluation budgets of the result table"),
  strategies: z.array(strategySchema).min(1, "list at least one strategy"),
  evaluator: evaluatorSchema,
  threads: positiveInt.optional().describe("Threads of the local worker started when no workers are given; default: CPU cores"),
  workers: z.array(z.string().regex(WORKER_ENTRY, "a worker is HOST:PORT or dns:NAME:PORT")).min(1).optional()
    .describe("gRPC workers to run on: HOST:PORT, or dns:NAME:PORT for every address NAME resolves to (re-resolved while running); default: a local worker process on loopback"),
  output: z.string().min(1).default("results").describe("Folder of run folders, relative to the working directory"),
});

export type SweepInput = z.input<typeof sweepSchema>;
export type SweepSpec = z.output<typeof sweepSchema>;
export type EvaluatorSpecInput = z.output<typeof evaluatorSchema>;
