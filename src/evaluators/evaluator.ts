import { loadModuleEvaluator } from "./module-evaluator.js";
import { SyntheticEvaluator } from "./synthetic.js";
import type { EvaluatorSpec } from "../domain/sweep.js";
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

/** Evaluators of one noise at a time; flux2-pickscore is built per device (evaluate-task.ts). */
export async function createEvaluator(spec: Exclude<EvaluatorSpec, { kind: "flux2-pickscore" }>): Promise<Evaluator> {
  switch (spec.kind) {
    case "synthetic":
      return new SyntheticEvaluator(spec);
    case "module":
      return loadModuleEvaluator(spec.path);
    case "noop":
      throw new Error("the noop evaluator scores recipes, not noises (see recipeScore)");
  }
}
