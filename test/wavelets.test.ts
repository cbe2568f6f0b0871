import { describe, expect, it } from "vitest";
import { wavedec2, waverec2, type Planes } from "../src/wavelets/dwt.js";
import { dwtMaxLevel, filterBank, WAVELET_NAMES } from "../src/wavelets/filter-bank.js";
import { digest16, loadReference } from "./reference.js";

interface Detail { shape: number[]; [key: string]: unknown }
interface Case {
  shape: number[]; wavelet: string; level: number; input: number[]; cA: number[]; cA_shape: number[];
  details: Detail[]; reconstruction_max_abs_error: number;
}

const gold = loadReference<{ cases: Case[] }>("pywt_wavedec2.json");
const filters = loadReference<Record<string, { rec_lo_hex: string[] }>>("pywt_filters.json");

function hexFloat(s: string): number {
  const m = /^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/i.exec(s);
  if (!m) throw new Error(`bad hex float ${s}`);
  const mantissa = Number(m[2]) + parseInt(m[3], 16) / 16 ** m[3].length;
  return (m[1] ? -1 : 1) * mantissa * 2 ** Number(m[4]);
}

describe("filters (pywt_filters.json)", () => {
  it("ships exactly PyWavelets' rec_lo for every wavelet the reference lists", () => {
    expect([...WAVELET_NAMES].sort()).toEqual(Object.keys(filters).sort());
    for (const [name, f] of Object.entries(filters)) {
      expect(Array.from(filterBank(name).recLo)).toEqual(f.rec_lo_hex.map((h) => Math.fround(hexFloat(h))));
    }
  });

  it("computes pywt.dwt_max_level", () => {
    expect(dwtMaxLevel(64, 2)).toBe(6);
    expect(dwtMaxLevel(64, 8)).toBe(3);
    expect(dwtMaxLevel(5, 8)).toBe(0);
  });
});

describe("wavedec2/waverec2 match PyWavelets bit for bit (pywt_wavedec2.json)", () => {
  for (const c of gold.cases) {
    it(`${c.wavelet} level ${c.level} on ${c.shape.join("x")}`, () => {
      const x: Planes = { data: Float32Array.from(c.input), batch: 1, rows: c.shape[0], cols: c.shape[1] };
      const dec = wavedec2(x, c.wavelet, c.level);
      expect([dec.cA.rows, dec.cA.cols]).toEqual(c.cA_shape);
      expect(Array.from(dec.cA.data)).toEqual(c.cA);
      expect(dec.details.length).toBe(c.details.length);
      dec.details.forEach((bands, i) => {
        const want = c.details[i];
        for (const key of ["cH", "cV", "cD"] as const) {
          const band = bands[key];
          expect([band.rows, band.cols]).toEqual(want.shape);
          expect(Array.from(band.data.subarray(0, 4))).toEqual(want[`${key}_first4`]);
          expect(digest16(band.data)).toBe(want[`${key}_sha256_16`]);
        }
      });
      // PyWavelets' own round-trip error on this input: equal only if waverec2 rounds as pywt does.
      const rec = waverec2(dec, c.wavelet);
      let maxErr = 0;
      for (let i = 0; i < x.data.length; i++) {
        const r = Math.floor(i / c.shape[1]);
        const col = i % c.shape[1];
        maxErr = Math.max(maxErr, Math.abs(rec.data[r * rec.cols + col] - x.data[i]));
      }
      expect(maxErr).toBe(c.reconstruction_max_abs_error);
    });
  }
});
