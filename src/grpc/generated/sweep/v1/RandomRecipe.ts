// Original file: proto/sweep/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Candidate recipes: how to rebuild a noise, not the noise (docs/protocol.md, "Candidates travel as recipes").
 */
export interface RandomRecipe {
  /**
   * torch.randn(shape, generator=Generator("cpu").manual_seed(seed))
   */
  'seed'?: (number | string | Long);
}

/**
 * Candidate recipes: how to rebuild a noise, not the noise (docs/protocol.md, "Candidates travel as recipes").
 */
export interface RandomRecipe__Output {
  /**
   * torch.randn(shape, generator=Generator("cpu").manual_seed(seed))
   */
  'seed': (number);
}
