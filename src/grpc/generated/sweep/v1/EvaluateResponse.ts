// Original file: proto/sweep/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface EvaluateResponse {
  'candidate_id'?: (number | string | Long);
  'ok'?: (boolean);
  /**
   * when ok
   */
  'score'?: (number | string);
  /**
   * when not ok: why
   */
  'error'?: (string);
  /**
   * time on the worker: materialisation plus scoring
   */
  'latency_ms'?: (number | string);
  /**
   * which device computed it, e.g. "cpu" or "0"
   */
  'device'?: (string);
  /**
   * with return_image: the candidate's image as PNG (empty when the evaluator makes none)
   */
  'image'?: (Buffer | Uint8Array | string);
  /**
   * when not ok: no retry can help (the worker lacks the model): the coordinator stops the run
   */
  'fatal'?: (boolean);
  /**
   * When not ok: the worker is draining (it was told to stop) and did not evaluate this candidate,
   * or gave up on it at its drain deadline. Not the candidate's fault: the coordinator sends it to
   * another worker without counting an attempt, and sends this worker nothing more.
   */
  'draining'?: (boolean);
  /**
   * when ok and the request named held-out rewards: one score each, in order
   */
  'heldout_scores'?: (number | string)[];
}

export interface EvaluateResponse__Output {
  'candidate_id': (number);
  'ok': (boolean);
  /**
   * when ok
   */
  'score': (number);
  /**
   * when not ok: why
   */
  'error': (string);
  /**
   * time on the worker: materialisation plus scoring
   */
  'latency_ms': (number);
  /**
   * which device computed it, e.g. "cpu" or "0"
   */
  'device': (string);
  /**
   * with return_image: the candidate's image as PNG (empty when the evaluator makes none)
   */
  'image': (Buffer);
  /**
   * when not ok: no retry can help (the worker lacks the model): the coordinator stops the run
   */
  'fatal': (boolean);
  /**
   * When not ok: the worker is draining (it was told to stop) and did not evaluate this candidate,
   * or gave up on it at its drain deadline. Not the candidate's fault: the coordinator sends it to
   * another worker without counting an attempt, and sends this worker nothing more.
   */
  'draining': (boolean);
  /**
   * when ok and the request named held-out rewards: one score each, in order
   */
  'heldout_scores': (number)[];
}
