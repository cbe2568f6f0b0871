/**
 * A CLIP processor's preprocessor_config.json, read when a model directory is imported: the
 * preprocessing settings the flux2-pickscore pipeline applies (evaluators/flux2-pickscore/clip-preprocess.ts).
 */
import { ModelInputError } from "../model-error.js";

export interface ClipPreprocessConfig {
  /** The shortest edge after resizing. */
  size: number;
  cropSize: { height: number; width: number };
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** do_rescale's factor, 1/255: fused into mean and std as 1 / rescaleFactor. */
  rescaleFactor: number;
}

// CLIPImageProcessor's defaults (OPENAI_CLIP_MEAN / OPENAI_CLIP_STD), used where the config omits a field.
const DEFAULT_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
const DEFAULT_STD = [0.26862954, 0.26130258, 0.27577711] as const;
const PIL_BICUBIC = 3;

function positiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function triple(value: unknown, fallback: readonly [number, number, number], field: string, file: string): readonly [number, number, number] {
  if (value === undefined) return fallback;
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === "number" && Number.isFinite(v))) {
    return [value[0], value[1], value[2]];
  }
  throw new ModelInputError(`${file}: ${field} must be a list of 3 numbers, got ${JSON.stringify(value)}`);
}

/** preprocessor_config.json -> the settings above; anything the reference would do differently is refused. */
export function parseClipPreprocessorConfig(json: unknown, file: string): ClipPreprocessConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ModelInputError(`${file}: not a JSON object`);
  const c = json as Record<string, unknown>;
  for (const flag of ["do_resize", "do_center_crop", "do_rescale", "do_normalize"]) {
    if (c[flag] !== undefined && c[flag] !== true) throw new ModelInputError(`${file}: ${flag} must be true, got ${JSON.stringify(c[flag])}`);
  }
  if (c.resample !== undefined && c.resample !== PIL_BICUBIC) {
    throw new ModelInputError(`${file}: resample must be ${PIL_BICUBIC} (bicubic), got ${JSON.stringify(c.resample)}`);
  }

  const rawSize = c.size ?? 224;
  const size = positiveInt(rawSize) ? rawSize : (rawSize as { shortest_edge?: unknown }).shortest_edge;
  if (!positiveInt(size) || (typeof rawSize === "object" && Object.keys(rawSize as object).length !== 1)) {
    throw new ModelInputError(`${file}: size must be a number or {"shortest_edge": n}, got ${JSON.stringify(rawSize)}`);
  }

  const rawCrop = c.crop_size ?? 224;
  const crop = positiveInt(rawCrop) ? { height: rawCrop, width: rawCrop } : (rawCrop as { height?: unknown; width?: unknown });
  if (!positiveInt(crop.height) || !positiveInt(crop.width)) {
    throw new ModelInputError(`${file}: crop_size must be a number or {"height": h, "width": w}, got ${JSON.stringify(rawCrop)}`);
  }

  const rescaleFactor = c.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== "number" || !(rescaleFactor > 0)) {
    throw new ModelInputError(`${file}: rescale_factor must be a positive number, got ${JSON.stringify(c.rescale_factor)}`);
  }

  return {
    size,
    cropSize: { height: crop.height, width: crop.width },
    mean: triple(c.image_mean, DEFAULT_MEAN, "image_mean", file),
    std: triple(c.image_std, DEFAULT_STD, "image_std", file),
    rescaleFactor,
  };
}
