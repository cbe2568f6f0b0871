/**
 * The CLIP-family scorers: `clip-pair` (PickScore, HPSv2, CLIP score: exp(logit_scale) x cosine of
 * the unit-length text and image embeddings) and `clip-head` (Aesthetic: the head's output), both
 * on transformers' CLIPImageProcessor pixels (torch's antialiased bicubic, as the PickScore path).
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { ClipPreprocessConfig } from "../../models/pickscore/clip-preprocessor-config.js";
import type { ClipImageConstants, RewardConstants } from "../../models/rewards/reward-manifest.js";
import { Lru } from "../../util/lru.js";
import { clipPixelValues } from "../flux2-pickscore/clip-preprocess.js";
import { loadClipTokenizer } from "../flux2-pickscore/prompt-tokens.js";
import type { RewardImage, RewardObserver, RewardRuntime, RewardScore, RuntimeContext } from "./reward-runtime.js";

const f = Math.fround;

/** The images' pixel_values, (B, 3, crop, crop) float32, and the tensor the vision graph takes. */
function pixelTensor(images: RewardImage[], c: ClipImageConstants, observe?: RewardObserver): ort.Tensor {
  const cfg: ClipPreprocessConfig = { size: c.size, cropSize: { height: c.crop_height, width: c.crop_width }, mean: c.mean, std: c.std, rescaleFactor: c.rescale_factor };
  const n = 3 * c.crop_height * c.crop_width;
  const pixels = new Float32Array(images.length * n);
  images.forEach((img, i) => pixels.set(clipPixelValues(img.rgb, img.height, img.width, cfg), i * n));
  observe?.("pixel_values", pixels.subarray(0, n));
  return new ort.Tensor("float32", pixels, [images.length, 3, c.crop_height, c.crop_width]);
}

export function clipPairRuntime(ctx: RuntimeContext<Extract<RewardConstants, { scorer: "clip-pair" }>>): RewardRuntime {
  const { constants: c, sessions, manifest } = ctx;
  const tokenizer = loadClipTokenizer(path.join(ctx.dir, manifest.tokenizer ?? "tokenizer"), c.text_max_length);
  const cache = new Lru<string, Promise<Float32Array>>(64);
  const warned = new Set<string>();
  const encode = async (prompt: string, observe?: RewardObserver): Promise<Float32Array> => {
    const tokens = tokenizer.encode(prompt);
    observe?.("input_ids", tokens.inputIds);
    if (tokens.truncated && !warned.has(prompt)) {
      warned.add(prompt);
      ctx.log(`prompt '${prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt}' is longer than ${tokenizer.maxLength} CLIP tokens: truncated as the reference does (${manifest.reward})`);
    }
    const out = await sessions.clip_text.run({ input_ids: new ort.Tensor("int64", tokens.inputIds, [1, tokens.inputIds.length]) });
    const embeds = out.text_embeds.data as Float32Array;
    observe?.("text_embeds", embeds);
    return embeds;
  };
  // observed calls bypass the cache, so a test sees every intermediate
  const textEmbeds = (prompt: string, observe?: RewardObserver) => (observe ? encode(prompt, observe) : cache.getOrCreate(prompt, () => encode(prompt)));
  return {
    needsPrompt: true,
    async encodePrompt(prompt) {
      await textEmbeds(prompt);
    },
    async score(prompt, images, observe): Promise<RewardScore[]> {
      const text = await textEmbeds(prompt as string, observe);
      const image = (await sessions.clip_vision.run({ pixel_values: pixelTensor(images, c.image, observe) })).image_embeds.data as Float32Array;
      observe?.("image_embeds", image.subarray(0, c.projection_dim));
      // torch: logit_scale.exp() in float32; the cosine accumulated in float32 in index order
      const scale = f(Math.exp(f(c.logit_scale)));
      const P = c.projection_dim;
      return images.map((_, b) => {
        let cosine = 0;
        for (let k = 0; k < P; k++) cosine = f(cosine + f(text[k] * image[b * P + k]));
        return { score: f(scale * cosine), cosine };
      });
    },
  };
}

export function clipHeadRuntime(ctx: RuntimeContext<Extract<RewardConstants, { scorer: "clip-head" }>>): RewardRuntime {
  const { constants: c, sessions } = ctx;
  return {
    needsPrompt: false,
    async encodePrompt() {},
    async score(_prompt, images, observe): Promise<RewardScore[]> {
      const out = await sessions.aesthetic.run({ pixel_values: pixelTensor(images, c.image, observe) });
      observe?.("image_embeds", (out.image_embeds.data as Float32Array).subarray(0, c.projection_dim));
      return Array.from(out.score.data as Float32Array, (score) => ({ score }));
    },
  };
}
