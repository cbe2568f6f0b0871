/**
 * The key an evaluation thread caches an evaluator under: the spec's JSON, made once per spec
 * object. A request's candidates share one spec object, so a key costs one JSON.stringify per
 * request, not one per evaluation.
 */
import type { EvaluatorSpec } from "../domain/sweep.js";

const keys = new WeakMap<EvaluatorSpec, string>();

export function evaluatorKey(spec: EvaluatorSpec): string {
  let key = keys.get(spec);
  if (key === undefined) {
    key = JSON.stringify(spec);
    keys.set(spec, key);
  }
  return key;
}
