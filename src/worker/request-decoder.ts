/**
 * An Evaluate request off the wire into evaluation tasks: the evaluator spec checked against this
 * worker (module digests, model folders under its model root), each candidate's recipe decoded.
 */
import { ModelInputError } from "../models/model-error.js";
import { recipeFromWire } from "../grpc/wire.js";
import { resolveFlux2Spec, resolveRewardDir } from "./flux2-spec.js";
import type { ModelRoot } from "./model-root.js";
import type { NoiseShape } from "../domain/candidate.js";
import type { EvaluationTask } from "../domain/outcome.js";
import type { EvaluatorSpec } from "../domain/sweep.js";
import type { EvaluateRequest__Output } from "../grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluatorSpec__Output } from "../grpc/generated/sweep/v1/EvaluatorSpec.js";

/** Deadline of an attempt when the request gives none. */
const DEFAULT_TIMEOUT_MS = 600_000;

type Decode = (wire: EvaluatorSpec__Output, shape: NoiseShape, modelRoot: ModelRoot) => EvaluatorSpec;

/** One decoder per evaluator kind this worker runs: a kind added to EvaluatorSpec needs one here. */
const DECODERS: { [K in EvaluatorSpec["kind"]]: Decode } = {
  synthetic: (wire, shape) => ({ kind: "synthetic", shape, latency_ms: wire.latency_ms, jitter_ms: wire.jitter_ms }),
  module: (wire, shape, modelRoot) => {
    const file = modelRoot.resolve(wire.module_path);
    const digest = modelRoot.digest(file);
    if (wire.module_sha256 && wire.module_sha256 !== digest) {
      throw new Error(`module '${wire.module_path}' on this worker (sha256 ${digest.slice(0, 12)}) differs from the coordinator's (${wire.module_sha256.slice(0, 12)})`);
    }
    return { kind: "module", shape, path: file, module_path: wire.module_path, module_sha256: digest };
  },
  noop: (_wire, shape) => ({ kind: "noop", shape }),
  "flux2-pickscore": (wire, shape, modelRoot) => {
    const { height, width, steps, max_batch } = wire;
    const spec = resolveFlux2Spec(modelRoot, wire.model, {
      height, width, steps, max_batch, score: wire.score as "cosine", precision: wire.precision as "float32", ...(wire.reward ? { reward: wire.reward } : {}),
      ...(wire.heldout.length > 0 ? { heldout: [...wire.heldout] } : {}),
    });
    if (shape.some((d, i) => d !== spec.shape[i])) throw new Error(`noise shape [${shape}] disagrees with ${height}x${width} (expected [${spec.shape}])`);
    return spec;
  },
};

/** The evaluator kinds this worker runs (Describe's `evaluators`). */
export const EVALUATOR_KINDS: readonly string[] = Object.keys(DECODERS);

/** The evaluator of a request, as this worker runs it; throws with the reason it cannot. */
export function decodeEvaluator(wire: EvaluatorSpec__Output, modelRoot: ModelRoot): EvaluatorSpec {
  const shape = wire.shape as unknown as NoiseShape;
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`bad noise shape [${wire.shape}]`);
  if (!Object.hasOwn(DECODERS, wire.kind)) throw new Error(`unknown evaluator kind '${wire.kind}' (this worker runs: ${EVALUATOR_KINDS.join(", ")})`);
  return DECODERS[wire.kind as EvaluatorSpec["kind"]](wire, shape, modelRoot);
}

/** A candidate of a request: its task, or why it cannot run (`fatal`: no retry can help). */
export type DecodedCandidate = { id: number; task: EvaluationTask } | { id: number; error: string; fatal: boolean };

export interface DecodedRequest {
  /** Deadline of each attempt once it runs on a device. */
  timeoutMs: number;
  candidates: DecodedCandidate[];
}

/** Every candidate of the request shares one evaluator spec object (decoded once per request). */
export function decodeRequest(req: EvaluateRequest__Output, modelRoot: ModelRoot): DecodedRequest {
  const timeoutMs = req.timeout_ms > 0 ? req.timeout_ms : DEFAULT_TIMEOUT_MS;
  let evaluator: EvaluatorSpec;
  let heldoutDirs: string[] | undefined;
  try {
    if (!req.evaluator) throw new Error("the request names no evaluator");
    evaluator = decodeEvaluator(req.evaluator, modelRoot);
    if (req.heldout.length > 0) {
      if (evaluator.kind !== "flux2-pickscore") throw new Error(`held-out rewards score images: the ${evaluator.kind} evaluator makes none`);
      heldoutDirs = req.heldout.map((h) => resolveRewardDir(modelRoot, h, "held-out reward"));
    }
  } catch (e) {
    const error = (e as Error).message;
    const fatal = e instanceof ModelInputError;
    return { timeoutMs, candidates: req.candidates.map((c) => ({ id: c.id, error, fatal })) };
  }
  const candidates = req.candidates.map((c): DecodedCandidate => {
    try {
      const heldout = heldoutDirs ? { heldout: [...req.heldout], heldoutDirs } : {};
      return { id: c.id, task: { evaluator, prompt: req.prompt, promptIndex: req.prompt_index, recipe: recipeFromWire(c), returnImage: !!req.return_image, ...heldout } };
    } catch (e) {
      return { id: c.id, error: (e as Error).message, fatal: false };
    }
  });
  return { timeoutMs, candidates };
}
