// The native addon's tests run where the addon is loaded and are skipped, saying why, where it is
// not (no compiler at `npm ci`, or SWEEP_NATIVE_NOISE=0); the JavaScript ones run everywhere. Where
// the addon must be exercised (SWEEP_REQUIRE_ADDON=1, which .ci/run sets, or a CI environment
// variable), its absence fails instead. SWEEP_REQUIRE_ADDON=0 lifts that.
import type { TestContext } from "vitest";
import { noiseAddonMissing } from "../src/noise/noise-addon.js";

function requiredBy(): string | null {
  const flag = process.env.SWEEP_REQUIRE_ADDON;
  if (flag === "1") return "SWEEP_REQUIRE_ADDON=1";
  if (flag === "0") return null;
  const ci = process.env.CI;
  // CI without the addon disabled on purpose (SWEEP_NATIVE_NOISE=0 runs the JavaScript alone).
  if (ci && ci !== "0" && ci.toLowerCase() !== "false" && process.env.SWEEP_NATIVE_NOISE !== "0") return `CI=${ci}`;
  return null;
}

/** Why the addon must be there (e.g. "SWEEP_REQUIRE_ADDON=1"), or null where its tests may be skipped. */
export const addonRequiredBy = requiredBy();

/**
 * In a test of the addon: returns when what it tests is there (`missing` null); otherwise skips the
 * test with the reason as its note, or fails it where the addon is required.
 */
export function needAddon(ctx: TestContext, missing: string | null = noiseAddonMissing): void {
  if (missing === null) return;
  if (addonRequiredBy) throw new Error(`the native addon is required here (${addonRequiredBy}) but is ${missing}`);
  ctx.skip(`native addon ${missing}`);
}
