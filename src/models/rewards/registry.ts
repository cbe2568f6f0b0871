/** Every reward kind `sweep models import --reward` knows, by name. */
import { ModelInputError } from "../model-error.js";
import { aestheticReward, clipReward, hpsv2Reward, pickscoreReward } from "./clip-rewards.js";
import { imageReward } from "./imagereward.js";
import type { ParsedReward, RewardKind } from "./reward-kind.js";
import { REWARD_NAMES, type RewardName } from "./reward-manifest.js";

const KINDS: Record<RewardName, RewardKind<ParsedReward>> = {
  pickscore: pickscoreReward as RewardKind<ParsedReward>,
  hpsv2: hpsv2Reward as RewardKind<ParsedReward>,
  clip: clipReward as RewardKind<ParsedReward>,
  aesthetic: aestheticReward as RewardKind<ParsedReward>,
  imagereward: imageReward as RewardKind<ParsedReward>,
};

/** A reward kind, or one line saying it is unknown. */
export function rewardKind(name: string): RewardKind<ParsedReward> {
  if (!(REWARD_NAMES as readonly string[]).includes(name)) throw new ModelInputError(`unknown reward '${name}' (expected one of: ${REWARD_NAMES.join(", ")})`);
  return KINDS[name as RewardName];
}
