/**
 * One FLUX.2-klein + PickScore evaluation, batched: noise -> tokens -> Euler steps of the
 * transformer -> VAE decode -> uint8 image -> CLIP preprocessing -> PickScore. Prompt embeddings
 * are computed once per prompt and kept. Every batch runs at max_batch rows (a partial one padded),
 * so a candidate's score never depends on its batch.
 *
 * Two paths with the same arithmetic: "one-run" (the default, what workers run) calls the batch
 * graph once per batch (models/batch-graph.ts: everything from the noises to the image embeddings
 * on the device, the images fetched only when asked for); "stages" runs the five stage graphs with
 * the host computing between them (token layout, schedule, Euler step, image conversion, resize, in
 * the reference's float32): the path the tests and benchmarks compare the one-run path with.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { ropeTables, imageIds, textIds } from "../../models/flux2/rope.js";
import { Lru } from "../../util/lru.js";
import { clipPixelValues } from "./clip-preprocess.js";
import type { ClipPreprocessConfig } from "../../models/pickscore/clip-preprocessor-config.js";
import { requireFinite } from "./finite-outputs.js";
import { decodedToUint8 } from "./image-convert.js";
import type { Flux2Models } from "./model-sessions.js";
import { loadClipTokenizer, loadQwenPromptTokenizer, type ClipPromptTokenizer, type QwenPromptTokenizer } from "./prompt-tokens.js";
import { eulerStep, flux2Schedule } from "./schedule.js";

export interface Flux2Settings {
  height: number;
  width: number;
  steps: number;
  score: "cosine" | "logit";
  maxBatch: number;
}

/** Receives named intermediates of batch row 0 (tests compare them with the reference's traces). */
export type Observer = (name: string, value: Float32Array | Uint8Array | BigInt64Array) => void;

interface PromptEmbedding {
  prompt: string;
  /** (text_max_length, 3 x hidden) */
  promptEmbeds: Float32Array;
  /** (projection_dim,), L2-normalised */
  clipText: Float32Array;
}

/** A reward other than the model directory's PickScore: one score per image, in the score convention asked for. */
export interface ImageScorer {
  scoreImages(prompt: string, images: { rgb: Uint8Array; height: number; width: number }[], convention: "cosine" | "logit"): Promise<number[]>;
}

export interface ScoredImage {
  score: number;
  /** height x width x 3, uint8 RGB (when asked for) */
  image?: Uint8Array;
}

export type PipelinePath = "one-run" | "stages";

export interface BatchOptions {
  /** return each candidate's image (the one-run path fetches them only then) */
  images?: boolean;
  /** named intermediates of batch row 0, as the reference traces them */
  observe?: Observer;
}

const f = Math.fround;

/** Steps the batch graph unrolls at most (each step is a copy of the transformer's nodes; the weights are shared). */
export const MAX_UNROLLED_STEPS = 16;

/**
 * Wall time per stage in milliseconds, summed over calls while `Flux2PickScorePipeline.timings` is
 * set (bench/evaluator.mjs): the graphs' run() calls (host <-> device copies included) and the host
 * work between them.
 */
export interface StageTimings {
  text_encoder: number;
  clip_text: number;
  transformer: number;
  /** transformer run() calls (steps x batches) */
  transformer_runs: number;
  vae_decoder: number;
  clip_vision: number;
  /** the one-run path's batch graph run() calls, and their time */
  batch: number;
  batch_runs: number;
  /** bytes of the tensors given to and returned by the batch work's run() calls (prompt encoding apart) */
  bytes_in: number;
  bytes_out: number;
  /** noise -> tokens, prompt rows, tokens -> VAE layout, input tensors */
  layout: number;
  euler: number;
  uint8: number;
  clip_preprocess: number;
}

type TimedStage = Exclude<keyof StageTimings, "transformer_runs" | "batch_runs" | "bytes_in" | "bytes_out">;

export function newStageTimings(): StageTimings {
  return { text_encoder: 0, clip_text: 0, transformer: 0, transformer_runs: 0, vae_decoder: 0, clip_vision: 0, batch: 0, batch_runs: 0, bytes_in: 0, bytes_out: 0, layout: 0, euler: 0, uint8: 0, clip_preprocess: 0 };
}

export class Flux2PickScorePipeline {
  /** Prompts encoded so far (text encoder runs), for tests and logs. */
  textEncodes = 0;
  /** When set, every stage adds its wall time here (off by default; the numerics are the same either way). */
  timings: StageTimings | null = null;
  private readonly qwen: QwenPromptTokenizer;
  private readonly clipTokens: ClipPromptTokenizer;
  private readonly prompts = new Lru<string, Promise<PromptEmbedding>>(64);
  private readonly ropes = new Map<string, { cos: ort.Tensor; sin: ort.Tensor }>();
  private readonly warned = new Set<string>();
  private readonly clipImage: ClipPreprocessConfig;
  private readonly expLogitScale: number;
  readonly mode: PipelinePath;
  private readonly reward?: ImageScorer;

  constructor(
    private readonly models: Flux2Models,
    private readonly log: (line: string) => void = () => {},
    opts: {
      mode?: PipelinePath;
      /** scores the images instead of the model directory's PickScore (evaluator.reward) */
      reward?: ImageScorer;
    } = {},
  ) {
    this.mode = opts.mode ?? "one-run";
    this.reward = opts.reward;
    const { manifest, dir } = models;
    const c = manifest.constants;
    this.qwen = loadQwenPromptTokenizer(path.join(dir, manifest.tokenizers.text), c.text_max_length);
    this.clipTokens = loadClipTokenizer(path.join(dir, manifest.tokenizers.clip), c.clip_max_length);
    this.clipImage = {
      size: c.clip_image.size,
      cropSize: { height: c.clip_image.crop_height, width: c.clip_image.crop_width },
      mean: c.clip_image.mean,
      std: c.clip_image.std,
      rescaleFactor: c.clip_image.rescale_factor,
    };
    // torch: logit_scale.exp() in float32
    this.expLogitScale = f(Math.exp(f(c.logit_scale)));
  }

  /** Adds the time since `t0` to `timings[stage]` when timings are on; returns the time now. */
  private lap(stage: TimedStage, t0: number): number {
    const now = performance.now();
    if (this.timings) this.timings[stage] += now - t0;
    return now;
  }

  /** One run() call of a graph, its time added to `stage` and (batch work) its tensors' bytes counted. */
  private async run(stage: TimedStage, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches?: string[]): Promise<ort.InferenceSession.ReturnType> {
    const t0 = performance.now();
    const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
    this.lap(stage, t0);
    if (this.timings && stage !== "text_encoder" && stage !== "clip_text") {
      const bytes = (tensors: Iterable<ort.Tensor>) => [...tensors].reduce((n, t) => n + (t.data as ArrayBufferView).byteLength, 0);
      this.timings.bytes_in += bytes(Object.values(feeds));
      this.timings.bytes_out += bytes(Object.values(out));
    }
    return out;
  }

  /** The prompt's text embeddings (Qwen3 hidden states and the CLIP text embedding), computed once. */
  promptEmbedding(prompt: string): Promise<PromptEmbedding> {
    const embedding = this.prompts.getOrCreate(prompt, () => this.encodePrompt(prompt));
    // A failed encoding (a cut-off batch's, say) is not kept: the next batch encodes again.
    embedding.catch(() => this.prompts.forget(prompt, embedding));
    return embedding;
  }

  /**
   * Opens what a batch of these settings will run (the batch graph of the size and step count, or
   * the stage graphs) and encodes a blank prompt, outside the cache and the counts: loading never
   * falls inside an evaluation's deadline. Nothing is evaluated.
   */
  async warm(s: Flux2Settings): Promise<void> {
    await this.encodePrompt("", false);
    if (this.pathFor(s) === "one-run") await this.models.batch({ height: s.height, width: s.width, steps: s.steps });
    else await Promise.all((["transformer", "vae_decoder", "clip_vision"] as const).map((g) => this.models.stage(g)));
  }

  /**
   * The path a batch takes: the one-run path unrolls the steps into the batch graph, up to
   * MAX_UNROLLED_STEPS (FLUX.2-klein runs 4); a longer schedule runs on the stage graphs, whose
   * arithmetic and scores are the same.
   */
  private pathFor(s: Flux2Settings): PipelinePath {
    return this.mode === "one-run" && s.steps <= MAX_UNROLLED_STEPS ? "one-run" : "stages";
  }

  private async encodePrompt(prompt: string, counted = true): Promise<PromptEmbedding> {
    const { manifest } = this.models;
    const stage = (name: "text_encoder" | "clip_text") => this.models.stage(name);
    const L = manifest.constants.text_max_length;
    const qwen = this.qwen.encode(prompt);
    const clip = this.clipTokens.encode(prompt);
    if ((qwen.truncated || clip.truncated) && !this.warned.has(prompt)) {
      this.warned.add(prompt);
      const which = [qwen.truncated ? `${L} Qwen tokens` : "", clip.truncated ? `${this.clipTokens.maxLength} CLIP tokens` : ""].filter(Boolean).join(" and ");
      this.log(`prompt '${prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt}' is longer than ${which}: truncated as the reference does`);
    }
    if (counted) this.textEncodes++;
    const text = await this.run("text_encoder", await stage("text_encoder"), {
      input_ids: new ort.Tensor("int64", qwen.inputIds, [1, L]),
      attention_mask: new ort.Tensor("int64", qwen.attentionMask, [1, L]),
    });
    const clipText = await this.run("clip_text", await stage("clip_text"), { input_ids: new ort.Tensor("int64", clip.inputIds, [1, clip.inputIds.length]) });
    return {
      prompt,
      promptEmbeds: requireFinite("text encoder (Qwen3)", text.prompt_embeds.data as Float32Array),
      clipText: requireFinite("CLIP text encoder", clipText.text_embeds.data as Float32Array),
    };
  }

  private rope(rows: number, cols: number): { cos: ort.Tensor; sin: ort.Tensor } {
    const key = `${rows}x${cols}`;
    let r = this.ropes.get(key);
    if (!r) {
      const c = this.models.manifest.constants;
      const ids = [...textIds(c.text_max_length), ...imageIds(rows, cols)];
      const { cos, sin } = ropeTables(ids, c.rope_axes, c.rope_theta);
      const dims = [ids.length, c.rope_axes.reduce((a, b) => a + b, 0)];
      r = { cos: new ort.Tensor("float32", cos, dims), sin: new ort.Tensor("float32", sin, dims) };
      this.ropes.set(key, r);
    }
    return r;
  }

  /** Scores of `noises` (each (1, 128, height/16, width/16)), in order; more than max_batch run in chunks. */
  async scoreBatch(prompt: string, noises: Float32Array[], s: Flux2Settings, opts: BatchOptions = {}): Promise<ScoredImage[]> {
    const out: ScoredImage[] = [];
    const emb = await this.promptEmbedding(prompt);
    for (let i = 0; i < noises.length; i += s.maxBatch) out.push(...(await this.runBatch(emb, noises.slice(i, i + s.maxBatch), s, opts)));
    return out;
  }

  /** One padded batch on this pipeline's path, scored against the prompt's CLIP text embedding. */
  private async runBatch(emb: PromptEmbedding, noises: Float32Array[], s: Flux2Settings, opts: BatchOptions): Promise<ScoredImage[]> {
    opts.observe?.("prompt_embeds", emb.promptEmbeds);
    opts.observe?.("text_embeds", emb.clipText);
    // another reward scores the images themselves: the one-run path fetches them then
    const run = this.reward ? { ...opts, images: true } : opts;
    const oneRun = this.pathFor(s) === "one-run";
    const { imageEmbeds, images } = oneRun ? await this.runOnce(emb, noises, s, run) : await this.runStages(emb, noises, s, opts.observe);
    if (this.reward && images) {
      const t0 = performance.now();
      const scores = await this.reward.scoreImages(emb.prompt, images.slice(0, noises.length).map((rgb) => ({ rgb, height: s.height, width: s.width })), s.score);
      this.lap("clip_vision", t0);
      return scores.map((score, b) => ({ score, image: images[b] }));
    }
    const P = this.models.manifest.constants.projection_dim;
    return noises.map((_, b) => {
      // text_embs @ image_embs.T, accumulated in float32
      let cosine = 0;
      for (let k = 0; k < P; k++) cosine = f(cosine + f(emb.clipText[k] * imageEmbeds[b * P + k]));
      const score = s.score === "logit" ? f(this.expLogitScale * cosine) : cosine;
      return opts.images || !oneRun ? { score, image: images?.[b] } : { score };
    });
  }

  /** The batch graph, one run: noises and the prompt's embedding in, image embeddings (and images if asked) out. */
  private async runOnce(emb: PromptEmbedding, noises: Float32Array[], s: Flux2Settings, opts: BatchOptions): Promise<{ imageEmbeds: Float32Array; images?: Uint8Array[] }> {
    const g = this.geometry(s);
    const c = this.models.manifest.constants;
    const observe = opts.observe;
    const session = await this.models.batch({ height: s.height, width: s.width, steps: s.steps, trace: !!observe });
    const t0 = performance.now();
    const feeds = {
      noise: new ort.Tensor("float32", stackNoises(noises, g, s.maxBatch), [s.maxBatch, g.C, g.rows, g.cols]),
      prompt_embeds: new ort.Tensor("float32", emb.promptEmbeds, [1, c.text_max_length, c.text_hidden_layers.length * c.text_hidden_size]),
      sigmas: new ort.Tensor("float32", flux2Schedule(s.steps, g.S).sigmas, [s.steps + 1]),
    };
    const traced = observe ? [...Array.from({ length: s.steps }, (_, i) => [`step${i}_latents_in`, `step${i}_velocity`]).flat(), "vae_in", "vae_out", "image_uint8", "pixel_values"] : [];
    const fetches = ["image_embeds", "latents_sum", "image_sum", ...(opts.images || observe ? ["images"] : []), ...traced];
    this.lap("layout", t0);
    const out = await this.run("batch", session, feeds, fetches);
    if (this.timings) this.timings.batch_runs++;
    if (observe) {
      const row0 = (name: string) => {
        const t = out[name];
        return (t.data as Float32Array | Uint8Array).subarray(0, t.size / t.dims[0]);
      };
      for (const name of [...traced, "image_embeds"]) observe(name, row0(name));
    }
    // each row's sums are finite exactly when every value of the row is (NaN and infinities propagate)
    requireFinite("transformer", out.latents_sum.data as Float32Array);
    requireFinite("VAE decoder", out.image_sum.data as Float32Array);
    requireFinite("CLIP vision encoder", out.image_embeds.data as Float32Array);
    const plane = s.height * s.width * 3;
    const all = out.images?.data as Uint8Array | undefined;
    const images = all ? Array.from({ length: s.maxBatch }, (_, b) => all.subarray(b * plane, (b + 1) * plane)) : undefined;
    return { imageEmbeds: out.image_embeds.data as Float32Array, images };
  }

  /** The stage graphs with the host between them: noise to tokens, the Euler steps, the VAE, CLIP. */
  private async runStages(emb: PromptEmbedding, noises: Float32Array[], s: Flux2Settings, observe?: Observer): Promise<{ imageEmbeds: Float32Array; images: Uint8Array[] }> {
    const g = this.geometry(s);
    let t0 = performance.now();
    const latents = noiseToTokens(noises, g, s.maxBatch);
    this.lap("layout", t0);
    await this.denoise(latents, emb, g, s, observe);
    t0 = performance.now();
    const vaeIn = tokensToChannels(latents, g, s.maxBatch);
    this.lap("layout", t0);
    const images = await this.decode(vaeIn, g, s, observe);
    return { imageEmbeds: await this.embedImages(images, s, observe), images };
  }

  private geometry(s: Flux2Settings): Geometry {
    const c = this.models.manifest.constants;
    const rows = s.height / c.latent_scale;
    const cols = s.width / c.latent_scale;
    return { C: c.latent_channels, rows, cols, S: rows * cols };
  }

  /** The transformer's steps with the Euler update, on the (B, S, C) tokens in place. */
  private async denoise(latents: Float32Array, emb: PromptEmbedding, g: Geometry, s: Flux2Settings, observe?: Observer): Promise<void> {
    const c = this.models.manifest.constants;
    const B = s.maxBatch;
    const { S, C } = g;
    const L = c.text_max_length;
    const J = c.text_hidden_layers.length * c.text_hidden_size;
    let t0 = performance.now();
    const promptBatch = new Float32Array(B * L * J);
    for (let b = 0; b < B; b++) promptBatch.set(emb.promptEmbeds, b * L * J);
    const promptTensor = new ort.Tensor("float32", promptBatch, [B, L, J]);
    const { cos, sin } = this.rope(g.rows, g.cols);
    const schedule = flux2Schedule(s.steps, S);
    this.lap("layout", t0);
    for (let i = 0; i < s.steps; i++) {
      observe?.(`step${i}_latents_in`, latents.slice(0, S * C));
      const result = await this.run("transformer", await this.models.stage("transformer"), {
        latents: new ort.Tensor("float32", latents, [B, S, C]),
        timestep: new ort.Tensor("float32", new Float32Array(B).fill(schedule.timesteps[i]), [B]),
        prompt_embeds: promptTensor,
        rope_cos: cos,
        rope_sin: sin,
      });
      if (this.timings) this.timings.transformer_runs++;
      const velocity = result.velocity.data as Float32Array;
      observe?.(`step${i}_velocity`, velocity.subarray(0, S * C));
      t0 = performance.now();
      eulerStep(latents, velocity, schedule, i);
      this.lap("euler", t0);
    }
  }

  /** The VAE's images of the (B, C, rows, cols) latents, as uint8 RGB. */
  private async decode(vaeIn: Float32Array, g: Geometry, s: Flux2Settings, observe?: Observer): Promise<Uint8Array[]> {
    observe?.("vae_in", vaeIn.subarray(0, g.C * g.S));
    const decoded = requireFinite("VAE decoder", (await this.run("vae_decoder", await this.models.stage("vae_decoder"), { latents: new ort.Tensor("float32", vaeIn, [s.maxBatch, g.C, g.rows, g.cols]) })).image.data as Float32Array);
    const plane = 3 * s.height * s.width;
    observe?.("vae_out", decoded.subarray(0, plane));
    const images: Uint8Array[] = [];
    for (let b = 0; b < s.maxBatch; b++) {
      const t0 = performance.now();
      images.push(decodedToUint8(decoded.subarray(b * plane, (b + 1) * plane), s.height, s.width));
      this.lap("uint8", t0);
    }
    observe?.("image_uint8", images[0]);
    return images;
  }

  /** CLIP's image embeddings (B, projection_dim) of the images, preprocessed as CLIPProcessor does. */
  private async embedImages(images: Uint8Array[], s: Flux2Settings, observe?: Observer): Promise<Float32Array> {
    const { height: ch, width: cw } = this.clipImage.cropSize;
    const pixels = new Float32Array(images.length * 3 * ch * cw);
    const t0 = performance.now();
    images.forEach((image, b) => pixels.set(clipPixelValues(image, s.height, s.width, this.clipImage), b * 3 * ch * cw));
    this.lap("clip_preprocess", t0);
    observe?.("pixel_values", pixels.subarray(0, 3 * ch * cw));
    const embeds = requireFinite("CLIP vision encoder", (await this.run("clip_vision", await this.models.stage("clip_vision"), { pixel_values: new ort.Tensor("float32", pixels, [images.length, 3, ch, cw]) })).image_embeds.data as Float32Array);
    observe?.("image_embeds", embeds.subarray(0, this.models.manifest.constants.projection_dim));
    return embeds;
  }
}

/** Latent geometry of one image: C channels, rows x cols tokens (S of them). */
interface Geometry {
  C: number;
  rows: number;
  cols: number;
  S: number;
}

/** (1, C, rows, cols) noises -> (B, S, C) tokens; padding rows repeat the first noise. */
function noiseToTokens(noises: Float32Array[], g: Geometry, B: number): Float32Array {
  const { C, S } = g;
  const latents = new Float32Array(B * S * C);
  for (let b = 0; b < B; b++) {
    const noise = noises[b < noises.length ? b : 0];
    if (noise.length !== C * S) throw new Error(`noise has ${noise.length} values; (1, ${C}, ${g.rows}, ${g.cols}) expected`);
    const base = b * S * C;
    for (let ch = 0; ch < C; ch++) for (let t = 0; t < S; t++) latents[base + t * C + ch] = noise[ch * S + t];
  }
  return latents;
}

/** (1, C, rows, cols) noises stacked into (B, C, rows, cols); padding rows repeat the first noise. */
function stackNoises(noises: Float32Array[], g: Geometry, B: number): Float32Array {
  const n = g.C * g.S;
  const out = new Float32Array(B * n);
  for (let b = 0; b < B; b++) {
    const noise = noises[b < noises.length ? b : 0];
    if (noise.length !== n) throw new Error(`noise has ${noise.length} values; (1, ${g.C}, ${g.rows}, ${g.cols}) expected`);
    out.set(noise, b * n);
  }
  return out;
}

/** (B, S, C) tokens -> (B, C, rows, cols), for the VAE. */
function tokensToChannels(latents: Float32Array, g: Geometry, B: number): Float32Array {
  const { C, S } = g;
  const out = new Float32Array(B * C * S);
  for (let b = 0; b < B; b++) {
    const base = b * S * C;
    for (let t = 0; t < S; t++) for (let ch = 0; ch < C; ch++) out[base + ch * S + t] = latents[base + t * C + ch];
  }
  return out;
}

