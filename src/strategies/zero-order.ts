/**
 * Zero-order search as sayakpaul/tt-scale-flux implements it (Ma et al. 2025): a pivot noise, N
 * neighbours on its sphere at cosine t with it; move to the best neighbour if it beats the pivot,
 * else draw a fresh pivot. Exact against ../shared/reference/strategies/zo-spec.md in its `cached`
 * counting: a pivot already scored is not scored again (docs/strategies.md says what the
 * reference's re-scoring costs). The search needs only scores: neighbours travel as recipes
 * (pivot seed, then the rounds and neighbour indices of the moves since) that workers expand.
 */
import { z } from "zod";
import { TorchGenerator, randnDraws } from "../noise/torch-generator.js";
import { Rounds } from "./rounds.js";
import { defineStrategy, type Strategy, type StrategyContext } from "./strategy.js";
import { numel, type Candidate, type Recipe, type ZeroOrderStep } from "../domain/candidate.js";

const zeroOrderOptions = z.object({
  threshold: z.number().gt(0).lt(1).default(0.95).describe("Cosine between each neighbour and its pivot, in (0, 1)"),
  neighbors: z.number().int().min(1).default(4).describe("Neighbours drawn around the pivot each round"),
});

export type ZeroOrderOptions = z.output<typeof zeroOrderOptions>;

/** torch.randint(0, 2^31 - 1) on the generator right after manual_seed(seed) and randn of the noise. */
export function freshPivotSeed(seed: number, noiseValues: number): number {
  const g = new TorchGenerator(seed);
  g.skip(randnDraws(noiseValues));
  return g.u32() % 2147483647;
}

interface Pivot {
  /** The seed it came from, or the last seed of its chain and the moves since. */
  seed: number;
  steps: readonly ZeroOrderStep[];
  /** Its score, once known. */
  score: number | null;
}

export class ZeroOrderSearch implements Strategy {
  private readonly D: number;
  private pivot: Pivot;
  /** The seed torch's generator was last seeded with: fresh pivots chain from it. */
  private chainSeed: number;
  private round = -1;
  private readonly rounds: Rounds;

  constructor(private readonly ctx: StrategyContext, private readonly opts: ZeroOrderOptions) {
    this.D = numel(ctx.shape);
    this.pivot = { seed: ctx.seed, steps: [], score: null };
    this.chainSeed = ctx.seed;
    this.rounds = new Rounds(ctx.budget, "zero-order", () => `round ${this.round}`);
  }

  get exhausted(): boolean {
    return this.rounds.exhausted;
  }

  ask(limit: number): Candidate[] {
    return this.rounds.ask(limit, () => {
      if (this.round >= 0) this.decide();
      return this.startRound();
    });
  }

  tell(evalIndex: number, score: number): void {
    this.rounds.tell(evalIndex, score);
  }

  /** The round's candidates: the pivot unless already scored, then its N neighbours. */
  private startRound(): Candidate[] {
    this.round++;
    const { seed, steps, score } = this.pivot;
    const members: Candidate[] = [];
    let evalIndex = this.rounds.nextIndex;
    if (score === null) {
      members.push({ evalIndex: evalIndex++, generation: this.round, noiseSeed: seed, recipe: { kind: "random", seed } });
    }
    for (let j = 0; j < this.opts.neighbors; j++) {
      const recipe: Recipe = {
        kind: "zero-order", pivotSeed: seed, runSeed: this.ctx.seed, threshold: this.opts.threshold,
        steps: [...steps, { round: this.round, neighbor: j }],
      };
      members.push({ evalIndex: evalIndex++, generation: this.round, noiseSeed: null, recipe });
    }
    return members;
  }

  /** After a whole round: move to the first best neighbour if it beats the pivot, else a fresh pivot. */
  private decide(): void {
    const scores = this.rounds.scores();
    const first = this.pivot.score === null ? 1 : 0;
    const pivotScore = this.pivot.score ?? scores[0];
    let best = -1;
    for (let j = 0; j < this.opts.neighbors; j++) {
      // Strictly better, the first of equal scores (so a tie with the pivot is no improvement).
      if (scores[first + j] > (best < 0 ? pivotScore : scores[first + best])) best = j;
    }
    if (best >= 0) {
      const recipe = this.rounds.members[first + best].recipe as Extract<Recipe, { kind: "zero-order" }>;
      this.pivot = { seed: recipe.pivotSeed, steps: recipe.steps, score: scores[first + best] };
    } else {
      this.chainSeed = freshPivotSeed(this.chainSeed, this.D);
      this.pivot = { seed: this.chainSeed, steps: [], score: null };
    }
  }
}

export const zeroOrder = defineStrategy({
  name: "zero-order",
  description: "Zero-order search (tt-scale-flux): neighbours of a pivot noise at cosine threshold; move on improvement, else a fresh pivot",
  options: zeroOrderOptions,
  create: (options, ctx) => new ZeroOrderSearch(ctx, options),
});
