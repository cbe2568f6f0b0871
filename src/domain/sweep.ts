/**
 * The sweep and what it is made of, as every layer sees it once config has turned YAML into it:
 * the strategies' specs, the evaluator (what one evaluation computes) and the execution settings
 * (how long an attempt may take, how often it is retried), which change no score.
 */
import type { NoiseShape } from "./candidate.js";

/**
 * One entry of `strategies`, flat as manifest.json keeps it: the strategy's name, the label it is
 * reported under, and the strategy's own options with their defaults applied (their type is the
 * strategy module's, src/strategies/; other layers pass them through unread).
 */
export type StrategySpec<Options extends object = Record<string, unknown>> = { name: string; label: string } & Options;

export type EvaluatorSpec =
  | { kind: "synthetic"; shape: NoiseShape; latency_ms: number; jitter_ms: number }
  | { kind: "noop"; shape: NoiseShape }
  | { kind: "module"; shape: NoiseShape; path: string; module_path: string; module_sha256: string }
  | Flux2PickScoreSpec;

/** FLUX.2-klein + PickScore: what one evaluation computes (the model is a folder under the worker's model root). */
export interface Flux2PickScoreSpec {
  kind: "flux2-pickscore";
  shape: NoiseShape;
  model: string;
  height: number;
  width: number;
  steps: number;
  score: "cosine" | "logit";
  precision: "float32" | "float16" | "bfloat16";
  max_batch: number;
  /** a reward model directory under the worker's model root whose score is the objective (absent: the model's PickScore) */
  reward?: string;
  /** reward model directories scored on the best candidates once the searches are over (held-out rewards) */
  heldout?: string[];
  /** the model directory on the worker that runs it (its model root + model), set by that worker */
  model_dir?: string;
  /** the reward's directory on that worker, set by it */
  reward_dir?: string;
  /** the held-out rewards' directories on that worker, set by it */
  heldout_dirs?: string[];
}

/** How the coordinator runs evaluations (written in the YAML beside the evaluator's fields). */
export interface ExecutionSettings {
  /** Seconds one attempt may run once it has started on a device. */
  timeout_s: number;
  /** Further attempts of a failed evaluation before its search fails. */
  retries: number;
}

/** A validated sweep with every default applied and every file resolved. */
export interface Sweep {
  name: string;
  description?: string;
  prompts: string[];
  seeds: number[];
  /** Ascending, unique. */
  budgets: number[];
  strategies: StrategySpec[];
  evaluator: EvaluatorSpec;
  execution: ExecutionSettings;
  threads?: number;
  workers?: string[];
  output: string;
  /** sha256 of what determines the scores (prompts, seeds, budgets, strategies, evaluator). */
  fingerprint: string;
  source: { file: string; overrides: string[] };
}
