/**
 * The built-in synthetic evaluator: a deterministic, prompt-dependent landscape in which the
 * low-frequency structure of the noise dominates the score, as it does for real diffusion models.
 * score(z) = <z, w_p>/|w_p| + 0.25 <z, v>/|v| (float64), with per channel c
 *   w_p[c,h,x] = cos(pi (h+0.5) fy_c / H + phy_c) cos(pi (x+0.5) fx_c / W + phx_c),
 *   v[c,h,x]   = (-1)^(h+x) (-1)^c (the highest frequency),
 * where fy_c, fx_c in {1,2,3} and phases in [0, 2pi) come from the prompt (docs/evaluators.md).
 * On white noise the score is N(0, 1.0625).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { splitMix64 } from "../noise/derived-seed.js";
import { Lru } from "../util/lru.js";
import type { EvaluationInput, Evaluator } from "./evaluator.js";
import type { NoiseShape } from "../domain/candidate.js";

export const HIGH_FREQUENCY_WEIGHT = 0.25;

/** FNV-1a (32-bit) of the prompt's UTF-8 bytes. */
export function promptHash(prompt: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(prompt, "utf8")) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

function uniform(hash: number, k: number): number {
  return Number(splitMix64(hash, k) >> 11n) / 2 ** 53;
}

/** The landscape's weight map for a prompt: score = sum(z * map). */
export function syntheticWeights(prompt: string, shape: NoiseShape): Float64Array {
  const [, C, H, W] = shape;
  const hash = promptHash(prompt);
  const low = new Float64Array(C * H * W);
  const high = new Float64Array(C * H * W);
  const rowWave = new Float64Array(H);
  const colWave = new Float64Array(W);
  for (let c = 0; c < C; c++) {
    const fy = 1 + Math.floor(3 * uniform(hash, 4 * c + 1));
    const fx = 1 + Math.floor(3 * uniform(hash, 4 * c + 2));
    const py = 2 * Math.PI * uniform(hash, 4 * c + 3);
    const px = 2 * Math.PI * uniform(hash, 4 * c + 4);
    for (let h = 0; h < H; h++) rowWave[h] = Math.cos((Math.PI * (h + 0.5) * fy) / H + py);
    for (let x = 0; x < W; x++) colWave[x] = Math.cos((Math.PI * (x + 0.5) * fx) / W + px);
    for (let h = 0; h < H; h++) {
      for (let x = 0; x < W; x++) {
        const i = (c * H + h) * W + x;
        low[i] = rowWave[h] * colWave[x];
        high[i] = (h + x + c) % 2 === 0 ? 1 : -1;
      }
    }
  }
  const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
  const lowScale = 1 / norm(low);
  const highScale = HIGH_FREQUENCY_WEIGHT / norm(high);
  for (let i = 0; i < low.length; i++) low[i] = low[i] * lowScale + high[i] * highScale;
  return low;
}

export class SyntheticEvaluator implements Evaluator {
  /** 4 MiB per prompt at (1,128,64,64); bounded so thousands of prompts stay small. */
  private readonly weights = new Lru<string, Float64Array>(16);

  constructor(private readonly opts: { latency_ms: number; jitter_ms: number }) {}

  async score({ noise, shape, prompt }: EvaluationInput): Promise<number> {
    const w = this.weights.getOrCreate(`${shape.join(",")}|${prompt}`, () => syntheticWeights(prompt, shape));
    let sum = 0;
    for (let i = 0; i < noise.length; i++) sum += noise[i] * w[i];
    const delay = this.opts.latency_ms + this.opts.jitter_ms * (2 * Math.random() - 1);
    if (delay > 0) await sleep(delay);
    return sum;
  }
}
