/**
 * SES (Spectral Evolution Search) as DiffSynth-Studio's ses_search does it: cross-entropy search
 * over the wavelet low band of the base noise, high bands fixed. Float32 arithmetic in torch's
 * order (DESIGN.md, "Reference semantics"), so candidates are bit-identical to the reference's.
 */
import { TorchGenerator } from "../noise/torch-generator.js";
import type { Candidate } from "../recipes/recipe.js";
import { coefficientLength, filterBank } from "../wavelets/filter-bank.js";
import type { Strategy, StrategyContext } from "./strategy.js";

export interface SesOptions {
  popsize: number;
  elites: number;
  wavelet: string;
  level: number;
}

export const SES_DEFAULTS: SesOptions = { popsize: 10, elites: 5, wavelet: "db1", level: 4 };

const f32 = Math.fround;
const SIGMA2_FLOOR = f32(1e-9);
const SIGMA2_JITTER = f32(1e-7);

interface Scored {
  score: number;
  low: Float32Array;
}

/** Length of the flattened low band (C x h x w) for a noise shape, wavelet and level. */
export function lowBandLength(shape: readonly number[], wavelet: string, level: number): number {
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
  private mu: Float32Array;
  private sigma2: Float32Array;
  private elitePool: Scored[] = [];
  private generation = -1;
  private samples = new Float32Array(0);
  private genStart = 0;
  private genSize = 0;
  private asked = 0;
  private readonly told = new Map<number, number>();

  constructor(private readonly ctx: StrategyContext, private readonly opts: SesOptions) {
    this.D = lowBandLength(ctx.shape, opts.wavelet, opts.level);
    // The reference seeds torch's default generator with the trial seed (torch.manual_seed(seed)).
    this.rng = new TorchGenerator(ctx.seed);
    this.mu = new Float32Array(this.D);
    this.sigma2 = new Float32Array(this.D).fill(1);
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
          // A view, not a copy: a generation's samples are never written after startGeneration
          // (each generation draws a new array), and the wire sends these bytes as they are.
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
    const std = new Float32Array(D);
    for (let i = 0; i < D; i++) std[i] = Math.sqrt(Math.max(this.sigma2[i], SIGMA2_FLOOR));
    // All popsize x D normals are drawn, even when fewer evaluations remain; drawn into the samples'
    // array and turned into samples in place (z -> mu + z * std, each value read before written).
    const samples = new Float32Array(popsize * D);
    this.rng.randnInto(samples);
    const mu = this.mu;
    for (let o = 0; o < samples.length; o += D) {
      for (let i = 0; i < D; i++) samples[o + i] = mu[i] + f32(samples[o + i] * std[i]);
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
    const pool = [...this.elitePool, ...batch].sort((a, b) => b.score - a.score).slice(0, this.opts.elites);
    // Elites kept from before already own their values (never written); new ones are copied out of
    // the generation's samples, so the pool does not hold whole generations.
    const previous = new Set(this.elitePool);
    this.elitePool = pool.map((e) => (previous.has(e) ? e : { score: e.score, low: e.low.slice() }));
    const rows = pool.map((e) => e.low);
    const k = rows.length;
    const mu = rows[0].slice();
    for (let m = 1; m < k; m++) {
      const row = rows[m];
      for (let i = 0; i < D; i++) mu[i] += row[i];
    }
    for (let i = 0; i < D; i++) mu[i] /= k;
    if (k > 1) {
      const sigma2 = new Float32Array(D);
      for (let i = 0; i < D; i++) {
        let mean = 0;
        for (let m = 0; m < k; m++) mean += rows[m][i];
        mean /= k;
        let ss = 0;
        for (let m = 0; m < k; m++) ss += (rows[m][i] - mean) ** 2;
        sigma2[i] = f32(ss / (k - 1)) + SIGMA2_JITTER;
      }
      this.sigma2 = sigma2;
    }
    this.mu = mu;
  }
}
