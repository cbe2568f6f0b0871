// Original file: proto/sweep/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A zero-order search neighbour (docs/protocol.md): start from noise(pivot_seed), as RandomRecipe;
 * step i moves to neighbour neighbors[i] of round rounds[i]: the point at cosine `threshold` with
 * the pivot, on its sphere, towards the float64 normals of numpy's
 * Generator(PCG64(SeedSequence([run_seed, round]))) (D per neighbour, neighbour 0's first).
 */
export interface ZeroOrderRecipe {
  'pivot_seed'?: (number | string | Long);
  'run_seed'?: (number | string | Long);
  'threshold'?: (number | string);
  'rounds'?: (number)[];
  'neighbors'?: (number)[];
}

/**
 * A zero-order search neighbour (docs/protocol.md): start from noise(pivot_seed), as RandomRecipe;
 * step i moves to neighbour neighbors[i] of round rounds[i]: the point at cosine `threshold` with
 * the pivot, on its sphere, towards the float64 normals of numpy's
 * Generator(PCG64(SeedSequence([run_seed, round]))) (D per neighbour, neighbour 0's first).
 */
export interface ZeroOrderRecipe__Output {
  'pivot_seed': (number);
  'run_seed': (number);
  'threshold': (number);
  'rounds': (number)[];
  'neighbors': (number)[];
}
