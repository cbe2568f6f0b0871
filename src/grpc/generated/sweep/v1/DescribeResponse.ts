// Original file: proto/sweep/v1/worker.proto

import type { Device as _sweep_v1_Device, Device__Output as _sweep_v1_Device__Output } from '../../sweep/v1/Device.js';
import type { ModelDigest as _sweep_v1_ModelDigest, ModelDigest__Output as _sweep_v1_ModelDigest__Output } from '../../sweep/v1/ModelDigest.js';

export interface DescribeResponse {
  /**
   * "sweep.v1"
   */
  'protocol'?: (string);
  'tool_version'?: (string);
  /**
   * stable for the life of the process
   */
  'worker_id'?: (string);
  'devices'?: (_sweep_v1_Device)[];
  /**
   * sum of slots: how many candidates it wants in flight
   */
  'capacity'?: (number);
  'evaluators'?: (string)[];
  'models'?: (_sweep_v1_ModelDigest)[];
  /**
   * Optional protocol features this worker accepts (coordinators send the newer form only to a
   * worker that announces it): "ses_low_f32le" (SesRecipe.low_f32le).
   */
  'features'?: (string)[];
}

export interface DescribeResponse__Output {
  /**
   * "sweep.v1"
   */
  'protocol': (string);
  'tool_version': (string);
  /**
   * stable for the life of the process
   */
  'worker_id': (string);
  'devices': (_sweep_v1_Device__Output)[];
  /**
   * sum of slots: how many candidates it wants in flight
   */
  'capacity': (number);
  'evaluators': (string)[];
  'models': (_sweep_v1_ModelDigest__Output)[];
  /**
   * Optional protocol features this worker accepts (coordinators send the newer form only to a
   * worker that announces it): "ses_low_f32le" (SesRecipe.low_f32le).
   */
  'features': (string)[];
}
