// Original file: proto/sweep/v1/worker.proto

import type { RandomRecipe as _sweep_v1_RandomRecipe, RandomRecipe__Output as _sweep_v1_RandomRecipe__Output } from '../../sweep/v1/RandomRecipe.js';
import type { SesRecipe as _sweep_v1_SesRecipe, SesRecipe__Output as _sweep_v1_SesRecipe__Output } from '../../sweep/v1/SesRecipe.js';
import type { TensorRecipe as _sweep_v1_TensorRecipe, TensorRecipe__Output as _sweep_v1_TensorRecipe__Output } from '../../sweep/v1/TensorRecipe.js';
import type { ZeroOrderRecipe as _sweep_v1_ZeroOrderRecipe, ZeroOrderRecipe__Output as _sweep_v1_ZeroOrderRecipe__Output } from '../../sweep/v1/ZeroOrderRecipe.js';
import type { EvolutionRecipe as _sweep_v1_EvolutionRecipe, EvolutionRecipe__Output as _sweep_v1_EvolutionRecipe__Output } from '../../sweep/v1/EvolutionRecipe.js';
import type { Long } from '@grpc/proto-loader';

export interface Candidate {
  /**
   * echoed in the result; unique per coordinator process
   */
  'id'?: (number | string | Long);
  'random'?: (_sweep_v1_RandomRecipe | null);
  'ses'?: (_sweep_v1_SesRecipe | null);
  /**
   * deprecated (see TensorRecipe)
   */
  'tensor'?: (_sweep_v1_TensorRecipe | null);
  /**
   * Newer recipes: a worker from before them sees a candidate without a recipe and fails its
   * evaluation, saying so (docs/protocol.md, "Versions").
   */
  'zero_order'?: (_sweep_v1_ZeroOrderRecipe | null);
  'evolution'?: (_sweep_v1_EvolutionRecipe | null);
  'recipe'?: "random"|"ses"|"tensor"|"zero_order"|"evolution";
}

export interface Candidate__Output {
  /**
   * echoed in the result; unique per coordinator process
   */
  'id': (number);
  'random'?: (_sweep_v1_RandomRecipe__Output | null);
  'ses'?: (_sweep_v1_SesRecipe__Output | null);
  /**
   * deprecated (see TensorRecipe)
   */
  'tensor'?: (_sweep_v1_TensorRecipe__Output | null);
  /**
   * Newer recipes: a worker from before them sees a candidate without a recipe and fails its
   * evaluation, saying so (docs/protocol.md, "Versions").
   */
  'zero_order'?: (_sweep_v1_ZeroOrderRecipe__Output | null);
  'evolution'?: (_sweep_v1_EvolutionRecipe__Output | null);
  'recipe'?: "random"|"ses"|"tensor"|"zero_order"|"evolution";
}
