/**
 * Evolutionary search over the initial noise with EvoSearch's selection and mutation
 * (tinnerhrhe/EvoSearch-codes): elites kept, parents chosen by tournaments of floor(0.9 P), children
 * f32(f32(parent * sqrt(1 - beta^2)) + f32(eps * beta)), generation after generation. Exact against
 * ../shared/reference/strategies/evosearch-spec.md in its `cached` counting: an elite keeps its
 * score. The search draws the tournaments from the trial seed's torch generator and only skips
 * the mutation noise it does not need; children travel as recipes (their lineage: the initial
 * block, then each mutation's place in the generator's stream) that workers expand.
 */
import { z } from "zod";
import { TorchGenerator, randnDraws } from "../noise/torch-generator.js";
import { Rounds } from "./rounds.js";
import { defineStrategy, type ReportOption, type Strategy, type StrategyContext } from "./strategy.js";
import { numel, type Candidate, type EvolutionMutation, type EvolutionRecipe, type NoiseShape, type Recipe } from "../domain/candidate.js";

const positiveInt = z.number().int().min(1);

const evolutionOptions = z.object({
  popsize: z.union([positiveInt, z.array(positiveInt).min(1)]).default([14, 7])
    .describe("Population size, or the size of each generation in turn (the last repeating): EvoSearch's FLUX schedule starts 14, 7"),
  elites: positiveInt.default(3).describe("Best members kept unchanged into the next generation"),
  mutation_rate: z.number().gt(0).max(1).default(0.2).describe("beta in child = sqrt(1 - beta^2) * parent + beta * eps, in (0, 1]"),
});

export type EvolutionOptions = z.output<typeof evolutionOptions>;

function schedule(popsize: number | readonly number[]): readonly number[] {
  return typeof popsize === "number" ? [popsize] : popsize;
}

/** EvoSearch's constraints (the reference fails otherwise), and noises of at least 16 values (torch's fill path). */
function resolveEvolution(options: EvolutionOptions, shape: NoiseShape, report: ReportOption): EvolutionOptions {
  const sizes = schedule(options.popsize);
  const { elites } = options;
  if (elites > sizes[0]) report("elites", `elites ${elites} is more than the first population (${sizes[0]})`);
  sizes.forEach((p, g) => {
    if (g > 0 && p <= elites) report("popsize", `population ${g} (${p}) must be larger than elites (${elites}): it holds the elites and at least one child`);
    if (p < 2) report("popsize", `population ${g} (${p}) makes children, which needs at least 2 members (a tournament of floor(0.9 x ${p}) = 0)`);
  });
  if (sizes.length === 1 && sizes[0] <= elites) report("popsize", `population ${sizes[0]} must be larger than elites (${elites}): every later generation holds the elites and at least one child`);
  if (numel(shape) < 16) report("popsize", `evolution needs a noise of at least 16 values (got shape [${shape}])`);
  return options;
}

interface Member {
  recipe: Recipe;
  noiseSeed: number | null;
  /** Known once told (an elite keeps its score). */
  score: number | null;
}

const f32 = Math.fround;

export class EvolutionSearch implements Strategy {
  private readonly D: number;
  private readonly sizes: readonly number[];
  private readonly rng: TorchGenerator;
  /** Draws the generator has taken. */
  private position: number;
  private generation = 0;
  private population: Member[];
  /** The generation's candidates (its members not scored yet), and their places in the population. */
  private readonly rounds: Rounds;
  private pendingMembers: number[] = [];

  constructor(private readonly ctx: StrategyContext, private readonly opts: EvolutionOptions) {
    this.D = numel(ctx.shape);
    this.sizes = schedule(opts.popsize);
    const P0 = this.sizes[0];
    const initialCount = P0 * this.D;
    // Member 0 is noise(seed) when the call's first block is drawn as randn of one noise is.
    const baseIsNoise = this.D % 16 === 0 || P0 === 1;
    this.population = Array.from({ length: P0 }, (_, member): Member => member === 0 && baseIsNoise
      ? { recipe: { kind: "random", seed: ctx.seed }, noiseSeed: ctx.seed, score: null }
      : { recipe: { kind: "evolution", seed: ctx.seed, initialCount, member, mutationRate: opts.mutation_rate, mutations: [] }, noiseSeed: null, score: null });
    this.rng = new TorchGenerator(ctx.seed);
    this.position = randnDraws(initialCount);
    this.rng.skip(this.position);
    this.rounds = new Rounds(ctx.budget, "evolution", () => `generation ${this.generation}`);
    this.rounds.begin(this.startGeneration());
  }

  private size(g: number): number {
    return this.sizes[Math.min(g, this.sizes.length - 1)];
  }

  get exhausted(): boolean {
    return this.rounds.exhausted;
  }

  ask(limit: number): Candidate[] {
    return this.rounds.ask(limit, () => {
      this.evolve();
      return this.startGeneration();
    });
  }

  tell(evalIndex: number, score: number): void {
    this.rounds.tell(evalIndex, score);
  }

  /** The generation's candidates: its members without a score, in population order. */
  private startGeneration(): Candidate[] {
    const start = this.rounds.nextIndex;
    const pending: Candidate[] = [];
    this.pendingMembers = [];
    this.population.forEach((m, i) => {
      if (m.score !== null) return;
      pending.push({ evalIndex: start + pending.length, generation: this.generation, noiseSeed: m.noiseSeed, recipe: m.recipe });
      this.pendingMembers.push(i);
    });
    return pending;
  }

  /** Scores in; elites, tournaments and the mutation noise's place in the stream; the next population. */
  private evolve(): void {
    const scores = this.rounds.scores();
    this.pendingMembers.forEach((i, k) => { this.population[i].score = scores[k]; });
    const pop = this.population;
    const P = pop.length;
    // The reference holds rewards in a float32 tensor; every comparison is on those.
    const rho = pop.map((m) => f32(m.score!));
    const { elites: E } = this.opts;
    // topk: best first; equal rewards lowest index first (torch's order among ties is an artefact).
    const elites = Array.from({ length: P }, (_, i) => i).sort((a, b) => rho[b] - rho[a] || a - b).slice(0, E);
    const children = this.size(this.generation + 1) - E;
    const K = Math.trunc(P * 0.9);
    const perm = new Array<number>(P);
    const parents: number[] = [];
    for (let c = 0; c < children; c++) {
      for (let i = 0; i < P; i++) perm[i] = i;
      for (let i = 0; i < P - 1; i++) {
        const z = this.rng.u32() % (P - i);
        [perm[i], perm[i + z]] = [perm[i + z], perm[i]];
      }
      this.position += P - 1;
      let parent = perm[0];
      for (let t = 1; t < K; t++) if (rho[perm[t]] > rho[parent]) parent = perm[t];
      parents.push(parent);
    }
    const count = children * this.D;
    const offset = this.position;
    this.rng.skip(randnDraws(count));
    this.position += randnDraws(count);
    this.population = [
      ...elites.map((i) => pop[i]),
      ...parents.map((p, block): Member => ({ recipe: this.mutate(pop[p].recipe, { offset, count, block }), noiseSeed: null, score: null })),
    ];
    this.generation++;
  }

  private mutate(parent: Recipe, mutation: EvolutionMutation): EvolutionRecipe {
    if (parent.kind === "evolution") return { ...parent, mutations: [...parent.mutations, mutation] };
    // Only the base noise travels as a random recipe: member 0 of the initial call.
    return { kind: "evolution", seed: this.ctx.seed, initialCount: this.sizes[0] * this.D, member: 0, mutationRate: this.opts.mutation_rate, mutations: [mutation] };
  }
}

export const evolution = defineStrategy({
  name: "evolution",
  description: "Evolutionary search (EvoSearch's selection and mutation) over initial noises: elites, tournaments, variance-preserving mutation",
  options: evolutionOptions,
  resolve: resolveEvolution,
  create: (options, ctx) => new EvolutionSearch(ctx, options),
});
