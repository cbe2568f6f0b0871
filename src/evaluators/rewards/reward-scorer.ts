/**
 * A reward model directory opened on one device, scoring uint8 RGB images (for a prompt, where the
 * reward takes one) as DiffSynth-Studio's metric classes do: `score` is what the class returns
 * (exp(logit_scale) x cosine for PickScore, HPSv2 and CLIP; the head's output for Aesthetic) and
 * `cosine` the plain cosine of the two unit-length embeddings where there are two.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { verifyModelFiles, type Precision } from "../../models/manifest.js";
import { ModelInputError } from "../../models/model-error.js";
import type { ClipPreprocessConfig } from "../../models/pickscore/clip-preprocessor-config.js";
import { readRewardManifest, type ClipImageConstants, type RewardManifest } from "../../models/rewards/reward-manifest.js";
import { Lru } from "../../util/lru.js";
import { clipPixelValues } from "../flux2-pickscore/clip-preprocess.js";
import { createSession, type DeviceTarget } from "../flux2-pickscore/model-sessions.js";
import { loadClipTokenizer, type ClipPromptTokenizer } from "../flux2-pickscore/prompt-tokens.js";

export interface RewardImage {
  /** height x width x 3, uint8 RGB */
  rgb: Uint8Array;
  height: number;
  width: number;
}

export interface RewardScore {
  score: number;
  /** the cosine of the unit-length embeddings (rewards with a text tower) */
  cosine?: number;
}

/** Receives named intermediates of image 0 (tests compare them with the reference's traces). */
export type RewardObserver = (name: string, value: Float32Array | BigInt64Array) => void;

const f = Math.fround;

function clipPreprocess(c: ClipImageConstants): ClipPreprocessConfig {
  return { size: c.size, cropSize: { height: c.crop_height, width: c.crop_width }, mean: c.mean, std: c.std, rescaleFactor: c.rescale_factor };
}

/**
 * The value a search climbs or a held-out table reports: for a reward with a text tower, the cosine
 * or the logit (exp(logit_scale) x cosine) as evaluator.score says, as for PickScore; else its score.
 */
export function rewardValue(s: RewardScore, convention: "cosine" | "logit"): number {
  return convention === "cosine" && s.cosine !== undefined ? s.cosine : s.score;
}

export class RewardScorer {
  private readonly textCache = new Lru<string, Promise<Float32Array>>(64);
  private readonly tokenizer: ClipPromptTokenizer | null;
  private readonly warned = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly manifest: RewardManifest,
    private readonly sessions: Record<string, ort.InferenceSession>,
    private readonly log: (line: string) => void,
  ) {
    this.tokenizer = manifest.tokenizer && manifest.constants.scorer === "clip-pair" ? loadClipTokenizer(path.join(dir, manifest.tokenizer), manifest.constants.text_max_length) : null;
  }

  static async open(dir: string, precision: Precision, device: DeviceTarget, opts: { verify?: boolean; log?: (line: string) => void } = {}): Promise<RewardScorer> {
    if (precision === "bfloat16" && device.kind === "cpu") throw new ModelInputError("precision bfloat16 needs a GPU: onnxruntime's CPU provider has no bfloat16 kernels");
    const manifest = readRewardManifest(dir);
    await verifyModelFiles(dir, manifest, opts.verify ?? false);
    const graphs = manifest.graphs[precision];
    if (!graphs) throw new ModelInputError(`${path.join(dir, "manifest.json")}: no ${precision} graphs in this reward directory`);
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, g] of Object.entries(graphs)) sessions[name] = await createSession(path.join(dir, g.file), device);
    return new RewardScorer(dir, manifest, sessions, opts.log ?? (() => {}));
  }

  /** The pipeline's ImageScorer: the objective of evaluator.reward. */
  async scoreImages(prompt: string, images: RewardImage[], convention: "cosine" | "logit"): Promise<number[]> {
    return (await this.score(this.needsPrompt ? prompt : null, images)).map((s) => rewardValue(s, convention));
  }

  get reward(): RewardManifest["reward"] {
    return this.manifest.reward;
  }

  /** Whether the score depends on a prompt (Aesthetic's does not). */
  get needsPrompt(): boolean {
    return this.manifest.constants.scorer !== "clip-head";
  }

  async score(prompt: string | null, images: RewardImage[], observe?: RewardObserver): Promise<RewardScore[]> {
    const c = this.manifest.constants;
    const pixels = this.pixelValues(images, c.image);
    observe?.("pixel_values", pixels.subarray(0, 3 * c.image.crop_height * c.image.crop_width));
    const pixelTensor = new ort.Tensor("float32", pixels, [images.length, 3, c.image.crop_height, c.image.crop_width]);
    if (c.scorer === "clip-head") {
      const out = await this.sessions.aesthetic.run({ pixel_values: pixelTensor });
      observe?.("image_embeds", (out.image_embeds.data as Float32Array).subarray(0, c.projection_dim));
      return Array.from(out.score.data as Float32Array, (score) => ({ score }));
    }
    if (prompt === null) throw new ModelInputError(`the ${this.reward} reward scores an image for a prompt: give one`);
    const text = await this.textEmbeds(prompt, observe);
    const image = (await this.sessions.clip_vision.run({ pixel_values: pixelTensor })).image_embeds.data as Float32Array;
    observe?.("image_embeds", image.subarray(0, c.projection_dim));
    // torch: logit_scale.exp() in float32; the cosine accumulated in float32 in index order
    const scale = f(Math.exp(f(c.logit_scale)));
    const P = c.projection_dim;
    return images.map((_, b) => {
      let cosine = 0;
      for (let k = 0; k < P; k++) cosine = f(cosine + f(text[k] * image[b * P + k]));
      return { score: f(scale * cosine), cosine };
    });
  }

  private pixelValues(images: RewardImage[], c: ClipImageConstants): Float32Array {
    const cfg = clipPreprocess(c);
    const n = 3 * c.crop_height * c.crop_width;
    const pixels = new Float32Array(images.length * n);
    images.forEach((img, i) => pixels.set(clipPixelValues(img.rgb, img.height, img.width, cfg), i * n));
    return pixels;
  }

  /** The prompt's text embedding, computed now and kept (a no-op for rewards without a prompt). */
  async encodePrompt(prompt: string): Promise<void> {
    if (this.needsPrompt) await this.textEmbeds(prompt);
  }

  private textEmbeds(prompt: string, observe?: RewardObserver): Promise<Float32Array> {
    if (observe) return this.encode(prompt, observe);
    return this.textCache.getOrCreate(prompt, () => this.encode(prompt));
  }

  private async encode(prompt: string, observe?: RewardObserver): Promise<Float32Array> {
    const tokens = (this.tokenizer as ClipPromptTokenizer).encode(prompt);
    observe?.("input_ids", tokens.inputIds);
    if (tokens.truncated && !this.warned.has(prompt)) {
      this.warned.add(prompt);
      this.log(`prompt '${prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt}' is longer than ${this.tokenizer?.maxLength} CLIP tokens: truncated as the reference does (${this.reward})`);
    }
    const out = await this.sessions.clip_text.run({ input_ids: new ort.Tensor("int64", tokens.inputIds, [1, tokens.inputIds.length]) });
    const embeds = out.text_embeds.data as Float32Array;
    observe?.("text_embeds", embeds);
    return embeds;
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
