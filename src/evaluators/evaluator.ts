import type { NoiseShape } from "../domain/candidate.js";

export interface EvaluationInput {
  noise: Float32Array;
  shape: NoiseShape;
  prompt: string;
  promptIndex: number;
}

/** Turns a noise into a score. Runs on an evaluation thread, never on the coordinator's. */
export interface Evaluator {
  score(input: EvaluationInput): number | Promise<number>;
}
