// Original file: proto/sweep/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface SesRecipe {
  /**
   * the base noise, as RandomRecipe
   */
  'base_seed'?: (number | string | Long);
  /**
   * PyWavelets name, e.g. "db1"
   */
  'wavelet'?: (string);
  'level'?: (number);
  /**
   * the low band (C x h x w, row-major) replacing the base's
   */
  'low'?: (number | string)[];
  /**
   * The same low band as raw little-endian float32 bytes (4 x C x h x w), copied rather than
   * encoded float by float. Sent instead of `low` to workers whose Describe lists the feature
   * "ses_low_f32le"; a worker takes it when it is not empty, else `low`.
   */
  'low_f32le'?: (Buffer | Uint8Array | string);
}

export interface SesRecipe__Output {
  /**
   * the base noise, as RandomRecipe
   */
  'base_seed': (number);
  /**
   * PyWavelets name, e.g. "db1"
   */
  'wavelet': (string);
  'level': (number);
  /**
   * the low band (C x h x w, row-major) replacing the base's
   */
  'low': (number)[];
  /**
   * The same low band as raw little-endian float32 bytes (4 x C x h x w), copied rather than
   * encoded float by float. Sent instead of `low` to workers whose Describe lists the feature
   * "ses_low_f32le"; a worker takes it when it is not empty, else `low`.
   */
  'low_f32le': (Buffer);
}
