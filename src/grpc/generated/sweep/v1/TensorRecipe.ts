// Original file: proto/sweep/v1/worker.proto


export interface TensorRecipe {
  /**
   * the whole noise, row-major
   */
  'data'?: (number | string)[];
}

export interface TensorRecipe__Output {
  /**
   * the whole noise, row-major
   */
  'data': (number)[];
}
