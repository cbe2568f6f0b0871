/**
 * The `blip-itm` scorer (ImageReward): BertTokenizer's ids (max_length 35, padded), Pillow's bicubic
 * pixels, then one run of the graph (its text encoder cross-attends to the image, so nothing of the
 * text is computed once per prompt but its tokens). One prompt's ids serve the whole batch (the
 * graph broadcasts a text batch of 1). `score` is the graph's (raw - mean) / std: DiffSynth's
 * ImageRewardMetric.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { RewardConstants } from "../../models/rewards/reward-manifest.js";
import { Lru } from "../../util/lru.js";
import { imageRewardPixelValues } from "../imagereward/imagereward-preprocess.js";
import { loadImageRewardTokenizer, type ImageRewardTokens } from "../imagereward/imagereward-tokens.js";
import type { RewardObserver, RewardRuntime, RewardScore, RuntimeContext } from "./reward-runtime.js";

/** The graph's traced outputs a test compares with the reference (image 0's rows). */
const OBSERVED = ["image_embeds", "text_cls"] as const;

export function imageRewardRuntime(ctx: RuntimeContext<Extract<RewardConstants, { scorer: "blip-itm" }>>): RewardRuntime {
  const { constants: c, sessions, manifest } = ctx;
  const tokenizer = loadImageRewardTokenizer(path.join(ctx.dir, manifest.tokenizer ?? "tokenizer"), c.text_max_length);
  const cache = new Lru<string, ImageRewardTokens>(64);
  const tokens = (prompt: string): ImageRewardTokens =>
    cache.getOrCreate(prompt, () => {
      const t = tokenizer.encode(prompt);
      if (t.truncated) ctx.log(`prompt '${prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt}' is longer than ${c.text_max_length - 2} word pieces: truncated as the reference does (imagereward)`);
      return t;
    });
  const session = sessions.image_reward;
  return {
    needsPrompt: true,
    async encodePrompt(prompt) {
      tokens(prompt);
    },
    async score(prompt, images, observe?: RewardObserver): Promise<RewardScore[]> {
      const t = tokens(prompt as string);
      observe?.("input_ids", t.inputIds);
      const { size, mean, std } = c.image;
      const n = 3 * size * size;
      const pixels = new Float32Array(images.length * n);
      images.forEach((img, i) => pixels.set(imageRewardPixelValues(img.rgb, img.height, img.width, size, mean, std), i * n));
      observe?.("pixel_values", pixels.subarray(0, n));
      const L = c.text_max_length;
      const feeds = {
        pixel_values: new ort.Tensor("float32", pixels, [images.length, 3, size, size]),
        input_ids: new ort.Tensor("int64", t.inputIds, [1, L]),
        attention_mask: new ort.Tensor("int64", t.attentionMask, [1, L]),
      };
      const out = await session.run(feeds, observe ? ["score", ...OBSERVED] : ["score"]);
      if (observe) {
        for (const name of OBSERVED) observe(name, (out[name].data as Float32Array).subarray(0, out[name].data.length / images.length));
      }
      return Array.from(out.score.data as Float32Array, (score) => ({ score }));
    },
  };
}
