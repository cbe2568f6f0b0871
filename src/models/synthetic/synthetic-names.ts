/** The synthetic models' names, apart from their builders: the CLI offers them as choices at start-up without loading those. */
export const SYNTHETIC_MODELS = ["flux2-tiny", "flux2-klein-4b"] as const;
export type SyntheticModelName = (typeof SYNTHETIC_MODELS)[number];
