// Original file: proto/sweep/v1/worker.proto


export interface ModelDigest {
  /**
   * evaluator kind or model path (relative to the model root)
   */
  'name'?: (string);
  'sha256'?: (string);
  /**
   * a model directory of seeded random weights: its synthetic name ("flux2-tiny", ...)
   */
  'synthetic'?: (string);
}

export interface ModelDigest__Output {
  /**
   * evaluator kind or model path (relative to the model root)
   */
  'name': (string);
  'sha256': (string);
  /**
   * a model directory of seeded random weights: its synthetic name ("flux2-tiny", ...)
   */
  'synthetic': (string);
}
