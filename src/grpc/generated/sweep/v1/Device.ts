// Original file: proto/sweep/v1/worker.proto


export interface Device {
  /**
   * "cpu", or a GPU index such as "0"
   */
  'id'?: (string);
  /**
   * "cpu" or "gpu"
   */
  'kind'?: (string);
  /**
   * evaluations it runs at once
   */
  'slots'?: (number);
  /**
   * "cpu" or "cuda": where model evaluators run
   */
  'execution_provider'?: (string);
  /**
   * e.g. "onnxruntime 1.29.0"
   */
  'runtime'?: (string);
  /**
   * the CPU model or GPU name
   */
  'name'?: (string);
}

export interface Device__Output {
  /**
   * "cpu", or a GPU index such as "0"
   */
  'id': (string);
  /**
   * "cpu" or "gpu"
   */
  'kind': (string);
  /**
   * evaluations it runs at once
   */
  'slots': (number);
  /**
   * "cpu" or "cuda": where model evaluators run
   */
  'execution_provider': (string);
  /**
   * e.g. "onnxruntime 1.29.0"
   */
  'runtime': (string);
  /**
   * the CPU model or GPU name
   */
  'name': (string);
}
