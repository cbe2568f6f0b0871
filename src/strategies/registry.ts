import { RandomSearch } from "./random-search.js";
import { SesSearch } from "./ses.js";
import type { Strategy, StrategyContext } from "./strategy.js";
import type { StrategySpec } from "../domain/sweep.js";

export function createStrategy(spec: StrategySpec, ctx: StrategyContext): Strategy {
  switch (spec.name) {
    case "random":
      return new RandomSearch(ctx);
    case "ses":
      return new SesSearch(ctx, spec);
  }
}

/**
 * Anytime: a run with budget B is exactly the first B evaluations of a run with a larger budget,
 * so one search serves every budget. Random and SES both are (SES draws whole generations).
 */
export function isAnytime(spec: StrategySpec): boolean {
  return spec.name === "random" || spec.name === "ses";
}
