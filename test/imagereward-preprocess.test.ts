import { describe, expect, it } from "vitest";
import { imageRewardPixelValues } from "../src/evaluators/imagereward/imagereward-preprocess.js";
import { imageRewardCases, loadTensors } from "./imagereward-reference.js";

const images = loadTensors("images.safetensors");

describe("ImageReward preprocessing (Pillow bicubic, centre crop rounding half to even, normalisation)", () => {
  const names = [...new Set(imageRewardCases.map((c) => c.image))];
  it("covers every golden image size, upscale and non-square crop included", () => {
    expect(names).toEqual(["sq256", "sq1024", "land160x224", "port450x320"]);
  });
  for (const name of names) {
    it(`${name}: pixel values equal the reference bit for bit`, () => {
      const image = images.get(`${name}.image_uint8`)!;
      const [height, width] = image.shape;
      const expected = images.get(`${name}.image_reward_pixel_values`)!;
      expect(expected.shape).toEqual([1, 3, 224, 224]);
      const actual = imageRewardPixelValues(image.data as Uint8Array, height, width);
      const a = new Uint32Array(actual.buffer);
      const e = new Uint32Array((expected.data as Float32Array).buffer);
      let differing = 0;
      for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) differing++;
      expect(differing).toBe(0);
    });
  }
});
