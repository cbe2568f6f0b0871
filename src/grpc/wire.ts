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

/** Protocol features this build's worker accepts (DescribeResponse.features). */
export const WORKER_FEATURES: readonly string[] = [FEATURE_SES_LOW_F32LE];

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
  }
}

export function recipeFromWire(c: Candidate__Output): Recipe {
  if (c.random) return { kind: "random", seed: c.random.seed };
  if (c.ses) {
    const bytes = c.ses.low_f32le;
    const low = bytes && bytes.length > 0 ? float32FromBytes(bytes, c.id) : Float32Array.from(c.ses.low ?? []);
    return { kind: "ses", baseSeed: c.ses.base_seed, wavelet: c.ses.wavelet, level: c.ses.level, low };
  }
  if (c.tensor) throw new Error(`candidate ${c.id} has a tensor recipe, which this worker does not take: no strategy makes one (TensorRecipe is deprecated)`);
  throw new Error(`candidate ${c.id} has no recipe`);
}

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
