import { loadModuleEvaluator } from "./module-evaluator.js";
import { SyntheticEvaluator } from "./synthetic.js";
import type { Evaluator } from "./evaluator.js";
import type { EvaluatorSpec } from "../domain/sweep.js";

/** Evaluators of one noise at a time; flux2-pickscore is built per device (src/worker/evaluate-task.ts). */
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
