import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { noiseAddon } from "../src/noise/noise-addon.js";
import { MT19937 } from "../src/noise/mt19937.js";
import { TorchGenerator, torchRandn } from "../src/noise/torch-generator.js";
import { needAddon } from "./native-addon.js";
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

  // Where the addon is not loaded, this test is skipped with the reason (so are the native tests
  // below, silently); where it is required (SWEEP_REQUIRE_ADDON=1: .ci/run; or CI), it fails.
  it("has the native addon built (npm ci builds it; CI must exercise it)", (ctx) => {
    needAddon(ctx);
    expect(noiseAddon).not.toBeNull();
    expect([1, 8]).toContain(noiseAddon!.lanes);
  });

  it("gives the same bits with the addon's scalar transform (CPUs without AVX2/FMA)", (ctx) => {
    needAddon(ctx);
    const cases = float32Cases.filter((c) => c.shape && c.shape.reduce((a, b) => a * b, 1) >= 16);
    const script = `import { createHash } from "node:crypto";
      import { torchRandn } from "./dist/noise/torch-generator.js";
      import { noiseAddon } from "./dist/noise/noise-addon.js";
      const digest = (v) => createHash("sha256").update(new Uint8Array(v.buffer)).digest("hex").slice(0, 16);
      const cases = JSON.parse(process.argv[1]);
      console.log(JSON.stringify({ lanes: noiseAddon.lanes, digests: cases.map(([seed, n]) => digest(torchRandn(seed, n))) }));`;
    const input = cases.map((c) => [c.seed, c.shape!.reduce((a, b) => a * b, 1)]);
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(input)], {
      env: { ...process.env, SWEEP_NATIVE_SCALAR: "1" },
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual({ lanes: 1, digests: cases.map((c) => c.sha256_16) });
  });

  // The native cases need the addon (without it torchRandn would quietly take the JavaScript path).
  for (const native of [true, false]) {
    for (const c of float32Cases.filter((c) => c.shape)) {
      it.skipIf(native && !noiseAddon)(`seed ${c.seed} shape [${c.shape}] is bit-exact (${native ? "native" : "JavaScript"} transform)`, () => {
        const numel = c.shape!.reduce((a, b) => a * b, 1);
        expectDraw(torchRandn(c.seed, numel, native), c as Draw);
      });
    }
  }

  for (const native of [true, false]) {
    for (const c of float32Cases.filter((c) => c.sequence)) {
      it.skipIf(native && !noiseAddon)(`seed ${c.seed} continues the stream over ${JSON.stringify(c.sequence)} (${native ? "native" : "JavaScript"})`, () => {
        const g = new TorchGenerator(c.seed, native);
        c.sequence!.forEach((shape, i) => expectDraw(g.randn(shape.reduce((a, b) => a * b, 1)), c.draws![i]));
      });
    }
  }
});

describe("parts of a randn call and skipped draws (evolution's noises)", () => {
  it("a slice of a call is those values of the whole call, whatever the count mod 16, and the stream goes on after the call", () => {
    for (const [count, start, length] of [[64, 16, 16], [100, 25, 25], [100, 75, 25], [100, 80, 20], [37, 0, 37], [48, 5, 30], [10, 3, 4]]) {
      const whole = new TorchGenerator(5, false);
      whole.skip(3);
      const want = whole.randn(count);
      const part = new TorchGenerator(5, false);
      part.skip(3);
      expect([...part.randnSlice(count, start, length)], `${start}+${length} of ${count}`).toEqual([...want.subarray(start, start + length)]);
      expect(part.u32(), `after a call of ${count}`).toBe(whole.u32());
    }
  });

  it("skips draws in the addon as in JavaScript, across buffer boundaries", (ctx) => {
    needAddon(ctx);
    for (const n of [625, 1247, 1248, 1249, 10_000, 524_288 * 3 + 5]) {
      const native = new MT19937(11);
      const js = new MT19937(11);
      native.next();
      js.next();
      native.skip(n);
      js.skip(n, null);
      expect([native.next(), native.next()], `skip ${n}`).toEqual([js.next(), js.next()]);
    }
  });
});
