import { describe, expect, it } from "vitest";
import { SyntheticEvaluator } from "../src/evaluators/synthetic.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import type { NoiseShape } from "../src/domain/candidate.js";

const shape: NoiseShape = [1, 6, 16, 24];
const evaluator = new SyntheticEvaluator({ latency_ms: 0, jitter_ms: 0 });
const score = (noise: Float32Array, prompt: string) => evaluator.score({ noise, shape, prompt, promptIndex: 0 });

// The documented building blocks, written here from their specifications (not the project's code).
const M64 = (1n << 64n) - 1n;

/** FNV-1a, 32 bits, over the UTF-8 bytes (offset basis 0x811c9dc5, prime 0x01000193). */
function fnv1a32(text: string): bigint {
  let h = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn;
  return h;
}

/** Output k of SplitMix64 seeded with `seed` (its state after k steps of the golden gamma, mixed). */
function splitMix64(seed: bigint, k: number): bigint {
  let z = (seed + BigInt(k) * 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** The landscape straight from its documented formula, element by element (docs/evaluators.md). */
function documented(noise: Float32Array, prompt: string): number {
  const [, C, H, W] = shape;
  const u = (k: number) => Number(splitMix64(fnv1a32(prompt), k) >> 11n) / 2 ** 53;
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
  it("builds on FNV-1a-32 and SplitMix64 as published (their reference test vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5n);
    expect(fnv1a32("a")).toBe(0xe40c292cn);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968n);
    expect(splitMix64(0n, 1)).toBe(0xe220a8397b1dcdafn);
    expect(splitMix64(0n, 2)).toBe(0x6e789e6aa1b965f4n);
  });

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
