import { REC_LO } from "./filters.js";

/** The four float32 filters of a wavelet, as PyWavelets derives them from rec_lo. */
export interface FilterBank {
  name: string;
  length: number;
  decLo: Float32Array;
  decHi: Float32Array;
  recLo: Float32Array;
  recHi: Float32Array;
}

export const WAVELET_NAMES: readonly string[] = Object.keys(REC_LO);

const banks = new Map<string, FilterBank>();

export function filterBank(name: string): FilterBank {
  const cached = banks.get(name);
  if (cached) return cached;
  const h = REC_LO[name];
  if (!h) throw new Error(`unknown wavelet '${name}' (expected one of ${WAVELET_NAMES.join(", ")})`);
  const L = h.length;
  const sign = (i: number) => (i % 2 === 0 ? 1 : -1);
  const bank: FilterBank = {
    name,
    length: L,
    recLo: Float32Array.from(h),
    decLo: Float32Array.from(h, (_, i) => h[L - 1 - i]),
    recHi: Float32Array.from(h, (_, i) => sign(i) * h[L - 1 - i]),
    decHi: Float32Array.from(h, (_, i) => -sign(i) * h[i]),
  };
  banks.set(name, bank);
  return bank;
}

/** pywt.dwt_max_level: the deepest useful decomposition of a signal of this length. */
export function dwtMaxLevel(dataLength: number, filterLength: number): number {
  if (filterLength < 2 || dataLength < filterLength - 1) return 0;
  return Math.floor(Math.log2(dataLength / (filterLength - 1)));
}

/** Length of one level's coefficients for an input of length n (mode symmetric). */
export function coefficientLength(n: number, filterLength: number): number {
  return Math.floor((n + filterLength - 1) / 2);
}
