/**
 * The reward kinds and the sizes of synthetic rewards, apart from the manifest schema and the
 * importers: the CLI offers them as choices at start-up without loading either.
 */
export const REWARD_NAMES = ["pickscore", "hpsv2", "clip", "aesthetic", "imagereward"] as const;
export type RewardName = (typeof REWARD_NAMES)[number];

export const SYNTHETIC_REWARD_SIZES = ["tiny", "real"] as const;
export type SyntheticRewardSize = (typeof SYNTHETIC_REWARD_SIZES)[number];
