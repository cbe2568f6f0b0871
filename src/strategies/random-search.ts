import { z } from "zod";
import { derivedNoiseSeed } from "../noise/derived-seed.js";
import { defineStrategy, type Strategy, type StrategyContext } from "./strategy.js";
import type { Candidate } from "../domain/candidate.js";

/** The noise seed of candidate k of a random search: the base noise first, as the reference counts it. */
export function randomCandidateSeed(seed: number, k: number): number {
  return k === 0 ? seed : derivedNoiseSeed(seed, k);
}

/** Best-of-N random search (DiffSynth tutorial): the base noise, then budget-1 fresh noises. */
export class RandomSearch implements Strategy {
  private next = 0;

  constructor(private readonly ctx: StrategyContext) {}

  get exhausted(): boolean {
    return this.next >= this.ctx.budget;
  }

  ask(limit: number): Candidate[] {
    const out: Candidate[] = [];
    while (out.length < limit && this.next < this.ctx.budget) {
      const seed = randomCandidateSeed(this.ctx.seed, this.next);
      out.push({ evalIndex: this.next, generation: null, noiseSeed: seed, recipe: { kind: "random", seed } });
      this.next++;
    }
    return out;
  }

  tell(): void {}
}

export const random = defineStrategy({
  name: "random",
  description: "Best-of-N random search: the base noise, then budget-1 fresh noises",
  options: z.object({}),
  create: (_options, ctx) => new RandomSearch(ctx),
});
