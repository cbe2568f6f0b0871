// Original file: proto/sweep/v1/worker.proto

import type { EvaluatorSpec as _sweep_v1_EvaluatorSpec, EvaluatorSpec__Output as _sweep_v1_EvaluatorSpec__Output } from '../../sweep/v1/EvaluatorSpec.js';
import type { Candidate as _sweep_v1_Candidate, Candidate__Output as _sweep_v1_Candidate__Output } from '../../sweep/v1/Candidate.js';

export interface EvaluateRequest {
  'evaluator'?: (_sweep_v1_EvaluatorSpec | null);
  /**
   * batches are grouped by prompt (embeddings are reused)
   */
  'prompt'?: (string);
  'prompt_index'?: (number);
  'candidates'?: (_sweep_v1_Candidate)[];
  /**
   * per candidate; the worker cancels an evaluation running longer
   */
  'timeout_ms'?: (number | string);
  /**
   * send each candidate's image back (PNG), where the evaluator makes one
   */
  'return_image'?: (boolean);
  /**
   * flux2-pickscore: also score each candidate's image with these reward model directories (held-out
   * rewards, under the worker's model root); the scores come back in heldout_scores, in this order.
   */
  'heldout'?: (string)[];
}

export interface EvaluateRequest__Output {
  'evaluator': (_sweep_v1_EvaluatorSpec__Output | null);
  /**
   * batches are grouped by prompt (embeddings are reused)
   */
  'prompt': (string);
  'prompt_index': (number);
  'candidates': (_sweep_v1_Candidate__Output)[];
  /**
   * per candidate; the worker cancels an evaluation running longer
   */
  'timeout_ms': (number);
  /**
   * send each candidate's image back (PNG), where the evaluator makes one
   */
  'return_image': (boolean);
  /**
   * flux2-pickscore: also score each candidate's image with these reward model directories (held-out
   * rewards, under the worker's model root); the scores come back in heldout_scores, in this order.
   */
  'heldout': (string)[];
}
