/**
 * A reward model directory opened on one device, scoring uint8 RGB images (for a prompt, where the
 * reward takes one) as DiffSynth-Studio's metric classes do: `score` is what the class returns
 * (exp(logit_scale) x cosine for PickScore, HPSv2 and CLIP; the head's output for Aesthetic;
 * (raw - mean) / std for ImageReward) and
 * `cosine` the plain cosine of the two unit-length embeddings where there are two. How a score is
 * computed is the runtime of the manifest's `constants.scorer` (RUNTIMES).
 */
import path from "node:path";
import type * as ort from "onnxruntime-node";
import { verifyModelFiles, type Precision } from "../../models/manifest.js";
import { ModelInputError } from "../../models/model-error.js";
import { readRewardManifest, type RewardConstants, type RewardManifest } from "../../models/rewards/reward-manifest.js";
import { createSession, type DeviceTarget } from "../flux2-pickscore/model-sessions.js";
import { clipHeadRuntime, clipPairRuntime } from "./clip-runtimes.js";
import { imageRewardRuntime } from "./imagereward-runtime.js";
import type { RewardImage, RewardObserver, RewardRuntime, RewardScore, RuntimeContext } from "./reward-runtime.js";

export type { RewardImage, RewardObserver, RewardScore } from "./reward-runtime.js";

/** One runtime per manifest `scorer`: a new kind of reward computation is one line here. */
const RUNTIMES: { [S in RewardConstants["scorer"]]: (ctx: RuntimeContext<Extract<RewardConstants, { scorer: S }>>) => RewardRuntime } = {
  "clip-pair": clipPairRuntime,
  "clip-head": clipHeadRuntime,
  "blip-itm": imageRewardRuntime,
};

/**
 * The value a search climbs or a held-out table reports: for a reward with a text tower, the cosine
 * or the logit (exp(logit_scale) x cosine) as evaluator.score says, as for PickScore; else its score.
 */
export function rewardValue(s: RewardScore, convention: "cosine" | "logit"): number {
  return convention === "cosine" && s.cosine !== undefined ? s.cosine : s.score;
}

export class RewardScorer {
  private constructor(
    readonly dir: string,
    readonly manifest: RewardManifest,
    private readonly sessions: Record<string, ort.InferenceSession>,
    private readonly runtime: RewardRuntime,
  ) {}

  static async open(dir: string, precision: Precision, device: DeviceTarget, opts: { verify?: boolean; log?: (line: string) => void } = {}): Promise<RewardScorer> {
    if (precision === "bfloat16" && device.kind === "cpu") throw new ModelInputError("precision bfloat16 needs a GPU: onnxruntime's CPU provider has no bfloat16 kernels");
    const manifest = readRewardManifest(dir);
    await verifyModelFiles(dir, manifest, opts.verify ?? false);
    const graphs = manifest.graphs[precision];
    if (!graphs) throw new ModelInputError(`${path.join(dir, "manifest.json")}: no ${precision} graphs in this reward directory`);
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, g] of Object.entries(graphs)) sessions[name] = await createSession(path.join(dir, g.file), device);
    const make = RUNTIMES[manifest.constants.scorer] as (ctx: RuntimeContext) => RewardRuntime;
    const runtime = make({ dir, manifest, constants: manifest.constants, sessions, log: opts.log ?? (() => {}) });
    return new RewardScorer(dir, manifest, sessions, runtime);
  }

  get reward(): RewardManifest["reward"] {
    return this.manifest.reward;
  }

  /** Whether the score depends on a prompt (Aesthetic's does not). */
  get needsPrompt(): boolean {
    return this.runtime.needsPrompt;
  }

  async score(prompt: string | null, images: RewardImage[], observe?: RewardObserver): Promise<RewardScore[]> {
    if (this.needsPrompt && prompt === null) throw new ModelInputError(`the ${this.reward} reward scores an image for a prompt: give one`);
    return this.runtime.score(this.needsPrompt ? prompt : null, images, observe);
  }

  /** The pipeline's ImageScorer: the objective of evaluator.reward. */
  async scoreImages(prompt: string, images: RewardImage[], convention: "cosine" | "logit"): Promise<number[]> {
    return (await this.score(prompt, images)).map((s) => rewardValue(s, convention));
  }

  /** The prompt's text embedding, computed now and kept (a no-op for rewards without a prompt). */
  async encodePrompt(prompt: string): Promise<void> {
    await this.runtime.encodePrompt(prompt);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
