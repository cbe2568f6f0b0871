// Original file: proto/sweep/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * An evolution member (docs/protocol.md): block `member` (D values) of the first torch.randn call
 * (initial_count values) on Generator("cpu").manual_seed(seed), then mutation i in order:
 * child = f32(f32(parent * f32(sqrt(1 - beta^2))) + f32(eps * f32(beta))), beta = mutation_rate,
 * eps = block blocks[i] of the randn call of counts[i] values made after offsets[i] draws of that
 * same generator.
 */
export interface EvolutionRecipe {
  'seed'?: (number | string | Long);
  'initial_count'?: (number | string | Long);
  'member'?: (number);
  'mutation_rate'?: (number | string);
  'offsets'?: (number | string | Long)[];
  'counts'?: (number | string | Long)[];
  'blocks'?: (number)[];
}

/**
 * An evolution member (docs/protocol.md): block `member` (D values) of the first torch.randn call
 * (initial_count values) on Generator("cpu").manual_seed(seed), then mutation i in order:
 * child = f32(f32(parent * f32(sqrt(1 - beta^2))) + f32(eps * f32(beta))), beta = mutation_rate,
 * eps = block blocks[i] of the randn call of counts[i] values made after offsets[i] draws of that
 * same generator.
 */
export interface EvolutionRecipe__Output {
  'seed': (number);
  'initial_count': (number);
  'member': (number);
  'mutation_rate': (number);
  'offsets': (number)[];
  'counts': (number)[];
  'blocks': (number)[];
}
