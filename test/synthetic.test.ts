import { describe, expect, it } from "vitest";
import { SyntheticEvaluator, promptHash } from "../src/evaluators/synthetic.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import type { NoiseShape } from "../src/recipes/recipe.js";

const shape: NoiseShape = [1, 6, 16, 24];
const evaluator = new SyntheticEvaluator({ latency_ms: 0, jitter_ms: 0 });
const score = (noise: Float32Array, prompt: string) => evaluator.score({ noise, shape, prompt, promptIndex: 0 });

/** The landscape straight from its documented formula, element by element (docs/evaluators.md). */
function documented(noise: Float32Array, prompt: string): number {
  const [, C, H, W] = shape;
  const M = (1n << 64n) - 1n;
  const u = (k: number) => {
    let z = (BigInt(promptHash(prompt)) + BigInt(k) * 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
  };
  let low = 0, lowNorm = 0, high = 0, highNorm = 0;
  for (let c = 0; c < C; c++) {
    const fy = 1 + Math.floor(3 * u(4 * c + 1)), fx = 1 + Math.floor(3 * u(4 * c + 2));
    const py = 2 * Math.PI * u(4 * c + 3), px = 2 * Math.PI * u(4 * c + 4);
    for (let h = 0; h < H; h++) for (let x = 0; x < W; x++) {
      const z = noise[(c * H + h) * W + x];
      const w = Math.cos((Math.PI * (h + 0.5) * fy) / H + py) * Math.cos((Math.PI * (x + 0.5) * fx) / W + px);
      const v = (-1) ** (h + x + c);
      low += z * w; lowNorm += w * w; high += z * v; highNorm += v * v;
    }
  }
  return low / Math.sqrt(lowNorm) + 0.25 * high / Math.sqrt(highNorm);
}

describe("synthetic evaluator", () => {
  it("computes the documented formula", async () => {
    for (const [seed, prompt] of [[0, "sketch, a cat"], [5, "a lighthouse at dawn"], [9, "ünïcode prompt ✓"]] as const) {
      const noise = torchRandn(seed, 6 * 16 * 24);
      expect(await score(noise, prompt)).toBeCloseTo(documented(noise, prompt), 10);
    }
  });

  it("depends on the prompt", async () => {
    const noise = torchRandn(1, 6 * 16 * 24);
    expect(await score(noise, "a")).not.toBe(await score(noise, "b"));
  });

  it("scores white noise as about N(0, 1.0625)", async () => {
    const scores: number[] = [];
    for (let seed = 0; seed < 400; seed++) scores.push(await score(torchRandn(seed, 6 * 16 * 24), "a cat"));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const variance = scores.reduce((a, b) => a + (b - mean) ** 2, 0) / (scores.length - 1);
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance).toBeGreaterThan(0.8);
    expect(variance).toBeLessThan(1.35);
  });
});
