// Original file: proto/sweep/v1/worker.proto


/**
 * Deprecated: no strategy makes a tensor recipe. Kept so field 4 of Candidate keeps its meaning;
 * a worker fails the evaluation of a candidate that carries one, saying so.
 */
export interface TensorRecipe {
  /**
   * the whole noise, row-major
   */
  'data'?: (number | string)[];
}

/**
 * Deprecated: no strategy makes a tensor recipe. Kept so field 4 of Candidate keeps its meaning;
 * a worker fails the evaluation of a candidate that carries one, saying so.
 */
export interface TensorRecipe__Output {
  /**
   * the whole noise, row-major
   */
  'data': (number)[];
}
