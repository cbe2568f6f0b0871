import type { z } from "zod";
import type { Candidate, NoiseShape } from "../domain/candidate.js";

/**
 * An ask/tell optimiser: pure and deterministic given its seed and the scores it is told.
 * It never sees workers, files or time.
 *
 * It must be anytime: a search with budget B asks exactly the first B candidates of a search with
 * a larger budget (same seed, same scores told), so the plan runs one search per (prompt, strategy,
 * seed) to the largest budget and reads the smaller budgets off its prefix.
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

/** Says what is wrong with one of a strategy entry's options. */
export type ReportOption = (option: string, message: string) => void;

/**
 * Everything about one strategy: its entry in the sweep YAML (`name`, then its own options) and
 * how to build its search. src/strategies/registry.ts lists them.
 */
export interface StrategyModule<Options extends z.ZodObject = z.ZodObject> {
  /** The YAML's `name`; the default label. */
  name: string;
  /** One line, for the config's JSON schema. */
  description: string;
  /** The strategy's own fields of an entry (not name or label): types, defaults, descriptions. */
  options: Options;
  /**
   * The options as the search will use them, once they parse, for this noise shape: where options
   * must agree with each other or with the shape, it reports each problem at the option concerned.
   * Without it, the options as parsed.
   */
  resolve?(options: z.output<Options>, shape: NoiseShape, report: ReportOption): z.output<Options>;
  create(options: z.output<Options>, ctx: StrategyContext): Strategy;
}

/** A strategy module, its options' type inferred from its schema. */
export function defineStrategy<Options extends z.ZodObject>(module: StrategyModule<Options>): StrategyModule<Options> {
  return module;
}
