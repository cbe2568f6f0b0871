/** Every strategy a sweep can name, one line each; config, the manifest and the search runner ask here. */
import { z } from "zod";
import { random } from "./random-search.js";
import { ses } from "./ses.js";
import { zeroOrder } from "./zero-order.js";
import { evolution } from "./evolution.js";
import type { ReportOption, Strategy, StrategyContext, StrategyModule } from "./strategy.js";
import type { NoiseShape } from "../domain/candidate.js";
import type { StrategySpec } from "../domain/sweep.js";

export const STRATEGIES: readonly StrategyModule[] = [
  random,
  ses,
  zeroOrder,
  evolution,
];

function strategyModule(name: string): StrategyModule {
  const module = STRATEGIES.find((s) => s.name === name);
  if (!module) throw new Error(`unknown strategy '${name}' (expected one of: ${STRATEGIES.map((s) => s.name).join(", ")})`);
  return module;
}

/**
 * One schema for the entries of `strategies`, told apart by `name`: `entry` makes a strategy's
 * object from its module (config adds the label to its options, the manifest requires them all).
 */
export function strategyEntrySchema<Entry extends z.ZodObject>(entry: (module: StrategyModule) => Entry, params?: z.core.$ZodDiscriminatedUnionParams) {
  const [first, ...rest] = STRATEGIES.map(entry);
  return z.discriminatedUnion("name", [first, ...rest], params);
}

/** A strategy's option fields with their defaults taken off: a resolved spec (manifest.json) holds each one. */
export function requiredOptions(module: StrategyModule): z.ZodRawShape {
  return Object.fromEntries(Object.entries(module.options.shape).map(([key, field]) => [key, field instanceof z.ZodDefault ? field.unwrap() : field]));
}

/** A parsed entry's options as its strategy will use them on this noise shape; problems go to `report`. */
export function resolveStrategyOptions(name: string, options: Record<string, unknown>, shape: NoiseShape, report: ReportOption): Record<string, unknown> {
  const module = strategyModule(name);
  return module.resolve ? module.resolve(options, shape, report) : options;
}

export function createStrategy(spec: StrategySpec, ctx: StrategyContext): Strategy {
  const { name, label: _label, ...options } = spec;
  return strategyModule(name).create(options, ctx);
}
