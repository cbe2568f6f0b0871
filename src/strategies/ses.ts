/**
 * SES (Spectral Evolution Search) as DiffSynth-Studio's ses_search does it: cross-entropy search
 * over the wavelet low band of the base noise, high bands fixed. Float32 arithmetic in torch's
 * order, so candidates are bit-identical to the reference's (docs/reproducibility.md, "SES").
 */
import { z } from "zod";
import { noiseAddon, type NoiseAddon } from "../noise/noise-addon.js";
import { TorchGenerator } from "../noise/torch-generator.js";
import { coefficientLength, dwtMaxLevel, filterBank, WAVELET_NAMES } from "../wavelets/filter-bank.js";
import { defineStrategy, type ReportOption, type Strategy, type StrategyContext } from "./strategy.js";
import type { Candidate, NoiseShape } from "../domain/candidate.js";

const positiveInt = z.number().int().min(1);

const sesOptions = z.object({
  popsize: positiveInt.default(10).describe("Candidates per generation"),
  elites: positiveInt.default(5).describe("Best results kept to refit the search distribution"),
  wavelet: z.enum(WAVELET_NAMES as [string, ...string[]]).default("db1").describe("PyWavelets wavelet of the low-band split"),
  level: positiveInt.default(4).describe("Wavelet decomposition level; the searched band is the coarsest"),
});

export type SesOptions = z.output<typeof sesOptions>;

/** Memory of one generation (popsize x low band, float32), held by each running search. */
const MAX_GENERATION_BYTES = 256 * 2 ** 20;

/** The level must leave a low band the wavelet can reach on this noise, and a generation must fit in memory. */
function resolveSes(options: SesOptions, shape: NoiseShape, report: ReportOption): SesOptions {
  const { popsize, wavelet, level } = options;
  const [, , rows, cols] = shape;
  const max = dwtMaxLevel(Math.min(rows, cols), filterBank(wavelet).length);
  if (level > max) {
    report("level", `level ${level} is deeper than ${wavelet} allows on a ${rows}x${cols} noise (at most ${max})`);
    return options;
  }
  const D = lowBandLength(shape, wavelet, level);
  if (D < 1) {
    report("level", "the low band would be empty");
  } else if (popsize * D * 4 > MAX_GENERATION_BYTES) {
    report("popsize", `popsize ${popsize} x ${D} low-band values is ${((popsize * D * 4) / 2 ** 20).toFixed(0)} MiB a generation, which every SES search draws at once; at most ${MAX_GENERATION_BYTES / 2 ** 20} MiB (popsize ${Math.floor(MAX_GENERATION_BYTES / (4 * D))} here)`);
  }
  return options;
}

const f32 = Math.fround;
/**
 * With recycleRecipes, a generation of at most this many floats (4 MiB) draws into the array of the
 * generation before last instead of a new one: arrays allocated at every generation, thousands of
 * candidates a second, are what brings on V8's full collections; larger generations are slow to
 * evaluate anyway and not worth holding twice.
 */
const RECYCLED_SAMPLES_MAX = 1 << 20;
const SIGMA2_FLOOR = f32(1e-9);
const SIGMA2_JITTER = f32(1e-7);

interface Scored {
  score: number;
  low: Float32Array;
}

/** Length of the flattened low band (C x h x w) for a noise shape, wavelet and level. */
function lowBandLength(shape: readonly number[], wavelet: string, level: number): number {
  const L = filterBank(wavelet).length;
  let rows = shape[shape.length - 2];
  let cols = shape[shape.length - 1];
  for (let l = 0; l < level; l++) {
    rows = coefficientLength(rows, L);
    cols = coefficientLength(cols, L);
  }
  return (shape.slice(0, -2).reduce((a, b) => a * b, 1)) * rows * cols;
}

export class SesSearch implements Strategy {
  private readonly D: number;
  private readonly rng: TorchGenerator;
  // mu, sigma2, the standard deviations and the elites' low bands are updated in place: a search
  // allocates only each generation's samples (handed out as the candidates' low bands).
  private readonly mu: Float32Array;
  private readonly sigma2: Float32Array;
  private readonly std: Float32Array;
  private elitePool: Scored[] = [];
  private generation = -1;
  private samples: Float32Array = new Float32Array(0);
  /** With ctx.recycleRecipes: the samples of the generation before last, no longer referenced. */
  private spare?: Float32Array;
  private genStart = 0;
  private genSize = 0;
  private asked = 0;
  private readonly told = new Map<number, number>();

  /** The addon's SES arithmetic where built (the same bits as the JavaScript below). */
  private readonly native: NoiseAddon | null;

  /** `useNative` false keeps the addon out (noise and SES arithmetic), for tests that compare the two. */
  constructor(private readonly ctx: StrategyContext, private readonly opts: SesOptions, useNative = true) {
    this.D = lowBandLength(ctx.shape, opts.wavelet, opts.level);
    // The reference seeds torch's default generator with the trial seed (torch.manual_seed(seed)).
    this.rng = new TorchGenerator(ctx.seed, useNative);
    this.native = useNative ? noiseAddon : null;
    this.mu = new Float32Array(this.D);
    this.sigma2 = new Float32Array(this.D).fill(1);
    this.std = new Float32Array(this.D);
  }

  get exhausted(): boolean {
    return this.asked >= this.ctx.budget;
  }

  ask(limit: number): Candidate[] {
    if (this.exhausted) return [];
    if (this.asked === this.genStart + this.genSize) {
      if (this.told.size < this.genSize) return [];
      this.startGeneration();
    }
    const out: Candidate[] = [];
    const end = this.genStart + this.genSize;
    while (out.length < limit && this.asked < end) {
      const row = this.asked - this.genStart;
      out.push({
        evalIndex: this.asked,
        generation: this.generation,
        noiseSeed: this.ctx.seed,
        recipe: {
          kind: "ses",
          baseSeed: this.ctx.seed,
          wavelet: this.opts.wavelet,
          level: this.opts.level,
          // A view, not a copy: a generation's samples are not written again while its candidates
          // can be held (see startGeneration), and the wire sends these bytes as they are.
          low: this.samples.subarray(row * this.D, (row + 1) * this.D),
        },
      });
      this.asked++;
    }
    return out;
  }

  tell(evalIndex: number, score: number): void {
    if (evalIndex < this.genStart || evalIndex >= this.asked) {
      throw new Error(`SES was told eval ${evalIndex}, which is not pending in generation ${this.generation}`);
    }
    this.told.set(evalIndex, score);
    if (this.told.size === this.genSize && this.asked === this.genStart + this.genSize) this.updateDistribution();
  }

  private startGeneration(): void {
    const { popsize } = this.opts;
    const D = this.D;
    this.generation++;
    this.genStart = this.asked;
    this.genSize = Math.min(popsize, this.ctx.budget - this.asked);
    this.told.clear();
    const { mu, sigma2, std } = this;
    // All popsize x D normals are drawn, even when fewer evaluations remain; drawn into the samples'
    // array and turned into samples in place (z -> mu + z * std, each value read before written).
    // The array is new, or with recycleRecipes the one of the generation before last: every
    // candidate holding a view of it has been told and let go by now.
    const samples = this.spare ?? new Float32Array(popsize * D);
    this.spare = this.ctx.recycleRecipes && this.samples.length === popsize * D && popsize * D <= RECYCLED_SAMPLES_MAX ? this.samples : undefined;
    this.rng.randnInto(samples);
    if (this.native?.sesSample) {
      this.native.sesSample(samples, mu, sigma2, std, SIGMA2_FLOOR);
    } else {
      for (let i = 0; i < D; i++) std[i] = Math.sqrt(Math.max(sigma2[i], SIGMA2_FLOOR));
      for (let o = 0; o < samples.length; o += D) {
        for (let i = 0; i < D; i++) samples[o + i] = mu[i] + f32(samples[o + i] * std[i]);
      }
    }
    this.samples = samples;
  }

  /** Elite pool = top `elites` of everything scored so far (stable, by score descending). */
  private updateDistribution(): void {
    const D = this.D;
    const batch: Scored[] = [];
    for (let k = 0; k < this.genSize; k++) {
      const i = this.genStart + k;
      batch.push({ score: this.told.get(i)!, low: this.samples.subarray(k * D, (k + 1) * D) });
    }
    const previous = this.elitePool;
    const pool = [...previous, ...batch].sort((a, b) => b.score - a.score).slice(0, this.opts.elites);
    // Elites kept from before own their values; a new one is copied out of the generation's samples
    // (so the pool does not hold whole generations) into the array of an elite it pushed out.
    const spare = previous.filter((e) => !pool.includes(e)).map((e) => e.low);
    this.elitePool = pool.map((e) => {
      if (previous.includes(e)) return e;
      const low = spare.pop() ?? new Float32Array(D);
      low.set(e.low);
      return { score: e.score, low };
    });
    const rows = this.elitePool.map((e) => e.low);
    const k = rows.length;
    const { mu, sigma2 } = this;
    if (this.native?.sesMoments) {
      this.native.sesMoments(rows, mu, sigma2, SIGMA2_JITTER);
      return;
    }
    mu.set(rows[0]);
    for (let m = 1; m < k; m++) {
      const row = rows[m];
      for (let i = 0; i < D; i++) mu[i] += row[i];
    }
    for (let i = 0; i < D; i++) mu[i] /= k;
    if (k > 1) {
      for (let i = 0; i < D; i++) {
        let mean = 0;
        for (let m = 0; m < k; m++) mean += rows[m][i];
        mean /= k;
        let ss = 0;
        for (let m = 0; m < k; m++) ss += (rows[m][i] - mean) ** 2;
        sigma2[i] = f32(ss / (k - 1)) + SIGMA2_JITTER;
      }
    }
  }
}

export const ses = defineStrategy({
  name: "ses",
  description: "Spectral Evolution Search (DiffSynth-Studio's ses_search)",
  options: sesOptions,
  resolve: resolveSes,
  create: (options, ctx) => new SesSearch(ctx, options),
});
