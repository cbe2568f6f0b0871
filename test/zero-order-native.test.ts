// The native addon's numpy normals and sphere neighbours give the bits of the JavaScript ones
// (which test/strategy-traces.test.ts checks against numpy and torch).
import { describe, expect, it } from "vitest";
import { noiseAddon } from "../src/noise/noise-addon.js";
import { NumpyGenerator } from "../src/noise/numpy-generator.js";
import { SphereNeighbours } from "../src/noise/sphere-neighbour.js";
import { torchRandn } from "../src/noise/torch-generator.js";
import { needAddon } from "./native-addon.js";

const missing = (fn: string) => (noiseAddon && !(fn in noiseAddon) ? `built without ${fn}` : undefined);

describe("zero-order search in the native addon", () => {
  it("draws numpy's normals (wedges and tails included) with the JavaScript's bits, and the stream goes on alike", (ctx) => {
    needAddon(ctx, missing("numpyNormals"));
    for (const entropy of [[0, 0], [3, 7], [2 ** 32 + 5, 1]]) {
      const native = new NumpyGenerator(entropy);
      const js = new NumpyGenerator(entropy);
      const a = new Float64Array(100_000);
      const b = new Float64Array(100_000);
      native.fillStandardNormal(a);
      js.fillStandardNormal(b, false);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `entropy ${entropy}`).toBe(true);
      expect(native.nextUint64()).toBe(js.nextUint64());
    }
  });

  it("computes a neighbour with the JavaScript's bits", (ctx) => {
    needAddon(ctx, missing("sphereNeighbour"));
    const D = 16 * 32 * 32;
    const pivot = torchRandn(4, D);
    const normals = new Float64Array(D);
    new NumpyGenerator([4, 0]).fillStandardNormal(normals, false);
    for (const t of [0.95, 0.5, 0.01]) {
      const native = new SphereNeighbours().neighbour(pivot, normals, t);
      const js = new SphereNeighbours().neighbour(pivot, normals, t, undefined, false);
      expect(Buffer.from(native.buffer).equals(Buffer.from(js.buffer)), `threshold ${t}`).toBe(true);
    }
  });
});
