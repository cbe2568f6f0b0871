import type { Candidate, NoiseShape } from "../domain/candidate.js";

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
  /**
   * The caller lets go of a candidate (its recipe too) once it has told its score and the strategy
   * has asked again, so a strategy may reuse a recipe's memory from then on (SES reuses the sample
   * array of the generation before last). Search runners set it; whoever keeps candidates (replay)
   * leaves it unset.
   */
  recycleRecipes?: boolean;
}
