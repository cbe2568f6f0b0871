// Original file: proto/sweep/v1/worker.proto


/**
 * What turns a noise into a score; the same for every candidate of a batch.
 */
export interface EvaluatorSpec {
  /**
   * "synthetic", "module", "noop" or "flux2-pickscore"
   */
  'kind'?: (string);
  /**
   * noise shape, (1, C, H, W)
   */
  'shape'?: (number)[];
  /**
   * synthetic: simulated time per evaluation
   */
  'latency_ms'?: (number | string);
  /**
   * synthetic: uniform +/- jitter
   */
  'jitter_ms'?: (number | string);
  /**
   * module: path inside the worker's model root
   */
  'module_path'?: (string);
  /**
   * module: the worker refuses a file with another digest
   */
  'module_sha256'?: (string);
  /**
   * flux2-pickscore: model directory name under the worker's model root
   */
  'model'?: (string);
  /**
   * flux2-pickscore: image height in pixels (multiple of 16)
   */
  'height'?: (number);
  /**
   * flux2-pickscore: image width in pixels (multiple of 16)
   */
  'width'?: (number);
  /**
   * flux2-pickscore: denoising steps
   */
  'steps'?: (number);
  /**
   * flux2-pickscore: "cosine" (the tutorial's) or "logit" (x exp(logit_scale))
   */
  'score'?: (string);
  /**
   * flux2-pickscore: compute precision, "float32", "float16" or "bfloat16"
   */
  'precision'?: (string);
  /**
   * flux2-pickscore: candidates of one prompt evaluated together (every batch padded to it)
   */
  'max_batch'?: (number);
  /**
   * flux2-pickscore: the reward model directory the score comes from (empty: the model's PickScore)
   */
  'reward'?: (string);
  /**
   * flux2-pickscore: held-out reward directories the run will ask for (checked on the first request)
   */
  'heldout'?: (string)[];
}

/**
 * What turns a noise into a score; the same for every candidate of a batch.
 */
export interface EvaluatorSpec__Output {
  /**
   * "synthetic", "module", "noop" or "flux2-pickscore"
   */
  'kind': (string);
  /**
   * noise shape, (1, C, H, W)
   */
  'shape': (number)[];
  /**
   * synthetic: simulated time per evaluation
   */
  'latency_ms': (number);
  /**
   * synthetic: uniform +/- jitter
   */
  'jitter_ms': (number);
  /**
   * module: path inside the worker's model root
   */
  'module_path': (string);
  /**
   * module: the worker refuses a file with another digest
   */
  'module_sha256': (string);
  /**
   * flux2-pickscore: model directory name under the worker's model root
   */
  'model': (string);
  /**
   * flux2-pickscore: image height in pixels (multiple of 16)
   */
  'height': (number);
  /**
   * flux2-pickscore: image width in pixels (multiple of 16)
   */
  'width': (number);
  /**
   * flux2-pickscore: denoising steps
   */
  'steps': (number);
  /**
   * flux2-pickscore: "cosine" (the tutorial's) or "logit" (x exp(logit_scale))
   */
  'score': (string);
  /**
   * flux2-pickscore: compute precision, "float32", "float16" or "bfloat16"
   */
  'precision': (string);
  /**
   * flux2-pickscore: candidates of one prompt evaluated together (every batch padded to it)
   */
  'max_batch': (number);
  /**
   * flux2-pickscore: the reward model directory the score comes from (empty: the model's PickScore)
   */
  'reward': (string);
  /**
   * flux2-pickscore: held-out reward directories the run will ask for (checked on the first request)
   */
  'heldout': (string)[];
}
