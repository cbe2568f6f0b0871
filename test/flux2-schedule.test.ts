import { describe, expect, test } from "vitest";
import { eulerStep, flux2Schedule } from "../src/evaluators/flux2-pickscore/schedule.js";
import { float32Of, golden, loadTrace } from "./flux2-reference.js";

describe("FLUX.2 schedule", () => {
  test.each(golden.cases.map((c) => [c.case, c.seed, c] as const))("case %i seed %i: the timesteps the transformer received, to the bit", (_c, _s, c) => {
    const { timesteps } = flux2Schedule(4, (c.height / 16) * (c.width / 16));
    expect(Array.from(timesteps)).toEqual(c.timesteps);
  });

  test("DESIGN's sigmas at 64x64 latents", () => {
    const { sigmas } = flux2Schedule(4, 64 * 64);
    expect(Array.from(sigmas).map((s) => Number(s.toFixed(6)))).toEqual([1, 0.967384, 0.908144, 0.7672, 0]);
  });

  test.each(["trace_case0_seed0", "trace_case1_seed3"] as const)("%s: Euler steps from the traced velocities give the next traced latents, to the bit", (name) => {
    const trace = loadTrace(name);
    const S = trace.get("step0_latents_in")!.dims[1];
    const schedule = flux2Schedule(4, S);
    const latents = Float32Array.from(float32Of(trace, "step0_latents_in"));
    for (let i = 0; i < 4; i++) {
      expect(latents).toEqual(float32Of(trace, `step${i}_latents_in`));
      eulerStep(latents, float32Of(trace, `step${i}_velocity`), schedule, i);
    }
    // vae_in is the final latents as (1, 128, h, w): token s, channel c -> [c, s]
    const vaeIn = float32Of(trace, "vae_in");
    for (let s = 0; s < S; s++) for (let c = 0; c < 128; c++) expect(latents[s * 128 + c]).toBe(vaeIn[c * S + s]);
  });
});
