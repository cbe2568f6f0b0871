/** A flux2-pickscore spec on this worker: its model folder resolved under the model root, its settings checked. */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { modelNotFound, rewardNotFound } from "../models/model-error.js";
import type { ModelRoot } from "./model-root.js";
import type { NoiseShape } from "../domain/candidate.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";

export type Flux2Settings = Omit<Flux2PickScoreSpec, "kind" | "model" | "model_dir" | "shape" | "reward_dir" | "heldout_dirs">;

/** A reward model directory (objective or held-out) under the model root, or why not. */
export function resolveRewardDir(modelRoot: ModelRoot, reward: string, role: "reward" | "held-out reward"): string {
  if (!/^[A-Za-z0-9_.+-]+$/.test(reward) || reward === "." || reward === "..") throw new Error(`${role} '${reward}' must be a folder name under the worker's model root`);
  const dir = path.join(modelRoot.dir, reward);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw rewardNotFound(reward, modelRoot.dir, role);
  return dir;
}

/** Throws a ModelInputError for a model missing from the root, an Error for anything else wrong. */
export function resolveFlux2Spec(modelRoot: ModelRoot, model: string, settings: Flux2Settings): Flux2PickScoreSpec {
  const dir = path.join(modelRoot.dir, model);
  if (!/^[A-Za-z0-9_.+-]+$/.test(model) || model === "." || model === "..") throw new Error(`model '${model}' must be a folder name under the worker's model root`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw modelNotFound(model, modelRoot.dir);
  const { height, width } = settings;
  if (height % 16 !== 0 || width % 16 !== 0 || height < 16 || width < 16) throw new Error(`height ${height} and width ${width} must be multiples of 16`);
  if (settings.score !== "cosine" && settings.score !== "logit") throw new Error(`unknown score convention '${settings.score}' (expected cosine or logit)`);
  if (!["float32", "float16", "bfloat16"].includes(settings.precision)) throw new Error(`unknown precision '${settings.precision}' (expected float32, float16 or bfloat16)`);
  if (!(settings.max_batch >= 1 && settings.steps >= 1)) throw new Error("max_batch and steps must be at least 1");
  const shape: NoiseShape = [1, 128, height / 16, width / 16];
  const { reward, heldout, ...rest } = settings;
  const rewardPart = reward ? { reward, reward_dir: resolveRewardDir(modelRoot, reward, "reward") } : {};
  const heldoutPart = heldout && heldout.length > 0 ? { heldout, heldout_dirs: heldout.map((h) => resolveRewardDir(modelRoot, h, "held-out reward")) } : {};
  return { kind: "flux2-pickscore", model, model_dir: dir, shape, ...rest, ...rewardPart, ...heldoutPart };
}
