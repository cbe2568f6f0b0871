/**
 * A PNG file as the uint8 RGB pixels a reward model scores (PIL's Image.open(...).convert("RGB")):
 * grey replicated to three channels, a palette expanded, alpha dropped. 8-bit samples only: other
 * depths are refused rather than rounded one way or another.
 */
import { readFileSync } from "node:fs";
import { convertIndexedToRgb, decode } from "fast-png";
import { InputError } from "../domain/input-error.js";

export interface RgbImage {
  /** height x width x 3, row-major */
  rgb: Uint8Array;
  height: number;
  width: number;
}

export function readPngRgb(file: string): RgbImage {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(readFileSync(file));
  } catch (e) {
    throw new InputError(`${file}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  let data: Uint8Array;
  let channels: number;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    channels = data.length / (width * height);
  } else {
    if (png.depth !== 8) throw new InputError(`${file}: ${png.depth}-bit samples; an 8-bit PNG expected`);
    data = png.data as Uint8Array;
    channels = png.channels;
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = channels >= 3 ? data[p * channels + c] : data[p * channels];
  }
  return { rgb, height, width };
}
