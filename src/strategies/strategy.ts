import type { Candidate, NoiseShape } from "../recipes/recipe.js";

/**
 * An ask/tell optimiser: pure and deterministic given its seed and the scores it is told.
 * It never sees workers, files or time.
 */
export interface Strategy {
  /** Up to `limit` new candidates; [] while it waits for scores, or once its budget is asked. */
  ask(limit: number): Candidate[];
  /** The score of an asked candidate; any order within what was asked. */
  tell(evalIndex: number, score: number): void;
  /** True once every evaluation of the budget has been asked. */
  readonly exhausted: boolean;
}

export interface StrategyContext {
  /** The trial (base-noise) seed. */
  seed: number;
  /** Evaluations this search runs to. */
  budget: number;
  shape: NoiseShape;
}
