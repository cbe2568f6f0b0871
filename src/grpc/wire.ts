/** Recipes and evaluator specs to and from their proto messages. */
import { endianness } from "node:os";
import type { Candidate, Candidate__Output } from "./generated/sweep/v1/Candidate.js";
import type { EvaluatorSpec as EvaluatorMessage } from "./generated/sweep/v1/EvaluatorSpec.js";
import type { Recipe } from "../domain/candidate.js";
import type { EvaluatorSpec } from "../domain/sweep.js";

/**
 * Describe feature: the worker accepts `SesRecipe.low_f32le`, the low band as raw little-endian
 * float32 bytes. A coordinator sends the repeated-float `low` to workers that do not announce it.
 */
export const FEATURE_SES_LOW_F32LE = "ses_low_f32le";

/**
 * Describe features: the worker rebuilds zero-order and evolution recipes. A coordinator whose
 * sweep makes them does not use a worker that lacks them (an older worker would fail every such
 * candidate: it sees no recipe it knows).
 */
export const FEATURE_ZERO_ORDER_RECIPE = "zero_order_recipe";
export const FEATURE_EVOLUTION_RECIPE = "evolution_recipe";

/** Protocol features this build's worker accepts (DescribeResponse.features). */
export const WORKER_FEATURES: readonly string[] = [FEATURE_SES_LOW_F32LE, FEATURE_ZERO_ORDER_RECIPE, FEATURE_EVOLUTION_RECIPE];

/** The strategies whose candidates carry a recipe of their own name, which workers announce taking. */
const RECIPE_FEATURES: Readonly<Record<string, string>> = { "zero-order": FEATURE_ZERO_ORDER_RECIPE, evolution: FEATURE_EVOLUTION_RECIPE };

/** The features a worker must announce to take the candidates of these strategies. */
export function recipeFeatures(strategies: readonly string[]): string[] {
  return [...new Set(strategies.flatMap((s) => (RECIPE_FEATURES[s] ? [RECIPE_FEATURES[s]] : [])))];
}

const LITTLE_ENDIAN = endianness() === "LE";

export interface WireForm {
  /** Send the SES low band as raw float32 bytes (the worker announced FEATURE_SES_LOW_F32LE). */
  sesLowBytes: boolean;
}

export function recipeToWire(id: number, recipe: Recipe, form: WireForm = { sesLowBytes: false }): Candidate {
  switch (recipe.kind) {
    case "random":
      return { id, random: { seed: recipe.seed } };
    case "ses":
      return form.sesLowBytes
        ? { id, ses: { base_seed: recipe.baseSeed, wavelet: recipe.wavelet, level: recipe.level, low_f32le: float32Bytes(recipe.low) } }
        : { id, ses: { base_seed: recipe.baseSeed, wavelet: recipe.wavelet, level: recipe.level, low: Array.from(recipe.low) } };
    case "zero-order":
      return {
        id,
        zero_order: {
          pivot_seed: recipe.pivotSeed, run_seed: recipe.runSeed, threshold: recipe.threshold,
          rounds: recipe.steps.map((s) => s.round), neighbors: recipe.steps.map((s) => s.neighbor),
        },
      };
    case "evolution":
      return {
        id,
        evolution: {
          seed: recipe.seed, initial_count: recipe.initialCount, member: recipe.member, mutation_rate: recipe.mutationRate,
          offsets: recipe.mutations.map((m) => m.offset), counts: recipe.mutations.map((m) => m.count), blocks: recipe.mutations.map((m) => m.block),
        },
      };
  }
}

export function recipeFromWire(c: Candidate__Output): Recipe {
  if (c.random) return { kind: "random", seed: c.random.seed };
  if (c.ses) {
    const bytes = c.ses.low_f32le;
    const low = bytes && bytes.length > 0 ? float32FromBytes(bytes, c.id) : Float32Array.from(c.ses.low ?? []);
    return { kind: "ses", baseSeed: c.ses.base_seed, wavelet: c.ses.wavelet, level: c.ses.level, low };
  }
  if (c.zero_order) {
    const { pivot_seed, run_seed, threshold, rounds, neighbors } = c.zero_order;
    if (rounds.length !== neighbors.length) throw new Error(`candidate ${c.id}: zero-order recipe has ${rounds.length} rounds but ${neighbors.length} neighbours`);
    if (!(threshold > 0 && threshold < 1)) throw new Error(`candidate ${c.id}: zero-order threshold ${threshold} is not in (0, 1)`);
    return { kind: "zero-order", pivotSeed: pivot_seed, runSeed: run_seed, threshold, steps: rounds.map((round, i) => ({ round, neighbor: neighbors[i] })) };
  }
  if (c.evolution) {
    const { seed, initial_count, member, mutation_rate, offsets, counts, blocks } = c.evolution;
    if (offsets.length !== counts.length || offsets.length !== blocks.length) {
      throw new Error(`candidate ${c.id}: evolution recipe has ${offsets.length} offsets, ${counts.length} counts and ${blocks.length} blocks`);
    }
    if (!(mutation_rate > 0 && mutation_rate <= 1)) throw new Error(`candidate ${c.id}: evolution mutation_rate ${mutation_rate} is not in (0, 1]`);
    // Each call comes after the one before it on the stream; the worker skips the draws between.
    let end = initial_count;
    for (const [i, offset] of offsets.entries()) {
      if (offset < end || offset > MAX_STREAM_DRAWS) throw new Error(`candidate ${c.id}: evolution mutation ${i} starts at draw ${offset}, expected ${end} to ${MAX_STREAM_DRAWS}`);
      end = offset + counts[i];
    }
    return {
      kind: "evolution", seed, initialCount: initial_count, member, mutationRate: mutation_rate,
      mutations: offsets.map((offset, i) => ({ offset, count: counts[i], block: blocks[i] })),
    };
  }
  if (c.tensor) throw new Error(`candidate ${c.id} has a tensor recipe, which this worker does not take: no strategy makes one (TensorRecipe is deprecated)`);
  throw new Error(`candidate ${c.id} has no recipe this worker knows (it takes random, ses, zero-order and evolution): is the coordinator of a newer version?`);
}

/** Draws a worker skips at most to reach an evolution child's noise (about 10 minutes of a core). */
const MAX_STREAM_DRAWS = 2 ** 42;

/** Messages already made, per spec: a run sends the same few specs with every batch. */
const evaluatorMessages = new WeakMap<EvaluatorSpec, EvaluatorMessage>();

/** The EvaluatorSpec message of an evaluator spec: every field, those of other kinds empty. */
export function evaluatorToWire(e: EvaluatorSpec): EvaluatorMessage {
  let w = evaluatorMessages.get(e);
  if (!w) {
    w = {
      kind: e.kind,
      shape: [...e.shape],
      latency_ms: e.kind === "synthetic" ? e.latency_ms : 0,
      jitter_ms: e.kind === "synthetic" ? e.jitter_ms : 0,
      module_path: e.kind === "module" ? e.module_path : "",
      module_sha256: e.kind === "module" ? e.module_sha256 : "",
      ...(e.kind === "flux2-pickscore"
        ? { model: e.model, height: e.height, width: e.width, steps: e.steps, score: e.score, precision: e.precision, max_batch: e.max_batch, reward: e.reward ?? "", heldout: e.heldout ?? [] }
        : { model: "", height: 0, width: 0, steps: 0, score: "", precision: "", max_batch: 0, reward: "", heldout: [] }),
    };
    evaluatorMessages.set(e, w);
  }
  return w;
}

/**
 * The values' little-endian bytes: on a little-endian machine a view of the same memory (protobufjs
 * copies it into the message in one go), else a swapped copy.
 */
export function float32Bytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** Float32 values from little-endian bytes: one copy (the bytes may sit at any offset of the message). */
export function float32FromBytes(bytes: Uint8Array, id: number | string = "?"): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`candidate ${id}: low_f32le has ${bytes.length} bytes, not a multiple of 4`);
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}
