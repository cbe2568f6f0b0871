/** Every reward kind `sweep models import --reward` knows, by name. */
import { ModelInputError } from "../model-error.js";
import { aestheticReward, clipReward, hpsv2Reward, pickscoreReward } from "./clip-rewards.js";
import type { ParsedReward, RewardKind } from "./reward-kind.js";
import { REWARD_NAMES, type RewardName } from "./reward-manifest.js";

const KINDS: Partial<Record<RewardName, RewardKind<ParsedReward>>> = {
  pickscore: pickscoreReward as RewardKind<ParsedReward>,
  hpsv2: hpsv2Reward as RewardKind<ParsedReward>,
  clip: clipReward as RewardKind<ParsedReward>,
  aesthetic: aestheticReward as RewardKind<ParsedReward>,
};

/** A reward kind, or one line saying it is unknown or not built yet. */
export function rewardKind(name: string): RewardKind<ParsedReward> {
  if (!(REWARD_NAMES as readonly string[]).includes(name)) throw new ModelInputError(`unknown reward '${name}' (expected one of: ${REWARD_NAMES.join(", ")})`);
  const kind = KINDS[name as RewardName];
  if (!kind) throw new ModelInputError(`reward '${name}' is not yet supported by this version (its graphs are not built yet); available: ${Object.keys(KINDS).join(", ")}`);
  return kind;
}
