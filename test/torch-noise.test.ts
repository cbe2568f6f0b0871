import { describe, expect, it } from "vitest";
import { nativeBoxMuller16 } from "../src/noise/native-box-muller.js";
import { TorchGenerator, torchRandn } from "../src/noise/torch-generator.js";
import { digest16, loadReference } from "./reference.js";

interface Draw { n: number; at: Record<string, number>; sum: number; sha256_16: string }
interface Case extends Partial<Draw> { seed: number; dtype: string; shape?: number[]; sequence?: number[][]; draws?: Draw[] }

const gold = loadReference<{ cases: Case[] }>("torch_randn.json");
const float32Cases = gold.cases.filter((c) => c.dtype === "float32");

function expectDraw(values: Float32Array, want: Draw): void {
  expect(values.length).toBe(want.n);
  for (const [index, value] of Object.entries(want.at)) expect(values[Number(index)]).toBe(value);
  expect(digest16(values)).toBe(want.sha256_16);
}

describe("torch-compatible randn (torch_randn.json)", () => {
  it("covers every float32 case of the golden file", () => {
    expect(float32Cases.length).toBe(gold.cases.length);
    expect(float32Cases.length).toBeGreaterThanOrEqual(50);
  });

  it("has the native transform built (npm ci builds it; CI must exercise it)", () => {
    expect(nativeBoxMuller16).not.toBeNull();
  });

  for (const native of [true, false]) {
    for (const c of float32Cases.filter((c) => c.shape)) {
      it(`seed ${c.seed} shape [${c.shape}] is bit-exact (${native ? "native" : "JavaScript"} transform)`, () => {
        const numel = c.shape!.reduce((a, b) => a * b, 1);
        expectDraw(torchRandn(c.seed, numel, native), c as Draw);
      });
    }
  }

  for (const c of float32Cases.filter((c) => c.sequence)) {
    it(`seed ${c.seed} continues the stream over ${JSON.stringify(c.sequence)}`, () => {
      const g = new TorchGenerator(c.seed);
      c.sequence!.forEach((shape, i) => expectDraw(g.randn(shape.reduce((a, b) => a * b, 1)), c.draws![i]));
    });
  }
});
