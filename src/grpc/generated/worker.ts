import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Candidate as _sweep_v1_Candidate, Candidate__Output as _sweep_v1_Candidate__Output } from './sweep/v1/Candidate.js';
import type { DescribeRequest as _sweep_v1_DescribeRequest, DescribeRequest__Output as _sweep_v1_DescribeRequest__Output } from './sweep/v1/DescribeRequest.js';
import type { DescribeResponse as _sweep_v1_DescribeResponse, DescribeResponse__Output as _sweep_v1_DescribeResponse__Output } from './sweep/v1/DescribeResponse.js';
import type { Device as _sweep_v1_Device, Device__Output as _sweep_v1_Device__Output } from './sweep/v1/Device.js';
import type { EvaluateRequest as _sweep_v1_EvaluateRequest, EvaluateRequest__Output as _sweep_v1_EvaluateRequest__Output } from './sweep/v1/EvaluateRequest.js';
import type { EvaluateResponse as _sweep_v1_EvaluateResponse, EvaluateResponse__Output as _sweep_v1_EvaluateResponse__Output } from './sweep/v1/EvaluateResponse.js';
import type { EvaluatorSpec as _sweep_v1_EvaluatorSpec, EvaluatorSpec__Output as _sweep_v1_EvaluatorSpec__Output } from './sweep/v1/EvaluatorSpec.js';
import type { EvolutionRecipe as _sweep_v1_EvolutionRecipe, EvolutionRecipe__Output as _sweep_v1_EvolutionRecipe__Output } from './sweep/v1/EvolutionRecipe.js';
import type { ModelDigest as _sweep_v1_ModelDigest, ModelDigest__Output as _sweep_v1_ModelDigest__Output } from './sweep/v1/ModelDigest.js';
import type { RandomRecipe as _sweep_v1_RandomRecipe, RandomRecipe__Output as _sweep_v1_RandomRecipe__Output } from './sweep/v1/RandomRecipe.js';
import type { SesRecipe as _sweep_v1_SesRecipe, SesRecipe__Output as _sweep_v1_SesRecipe__Output } from './sweep/v1/SesRecipe.js';
import type { TensorRecipe as _sweep_v1_TensorRecipe, TensorRecipe__Output as _sweep_v1_TensorRecipe__Output } from './sweep/v1/TensorRecipe.js';
import type { WorkerClient as _sweep_v1_WorkerClient, WorkerDefinition as _sweep_v1_WorkerDefinition } from './sweep/v1/Worker.js';
import type { ZeroOrderRecipe as _sweep_v1_ZeroOrderRecipe, ZeroOrderRecipe__Output as _sweep_v1_ZeroOrderRecipe__Output } from './sweep/v1/ZeroOrderRecipe.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  sweep: {
    v1: {
      Candidate: MessageTypeDefinition<_sweep_v1_Candidate, _sweep_v1_Candidate__Output>
      DescribeRequest: MessageTypeDefinition<_sweep_v1_DescribeRequest, _sweep_v1_DescribeRequest__Output>
      DescribeResponse: MessageTypeDefinition<_sweep_v1_DescribeResponse, _sweep_v1_DescribeResponse__Output>
      Device: MessageTypeDefinition<_sweep_v1_Device, _sweep_v1_Device__Output>
      EvaluateRequest: MessageTypeDefinition<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateRequest__Output>
      EvaluateResponse: MessageTypeDefinition<_sweep_v1_EvaluateResponse, _sweep_v1_EvaluateResponse__Output>
      EvaluatorSpec: MessageTypeDefinition<_sweep_v1_EvaluatorSpec, _sweep_v1_EvaluatorSpec__Output>
      EvolutionRecipe: MessageTypeDefinition<_sweep_v1_EvolutionRecipe, _sweep_v1_EvolutionRecipe__Output>
      ModelDigest: MessageTypeDefinition<_sweep_v1_ModelDigest, _sweep_v1_ModelDigest__Output>
      RandomRecipe: MessageTypeDefinition<_sweep_v1_RandomRecipe, _sweep_v1_RandomRecipe__Output>
      SesRecipe: MessageTypeDefinition<_sweep_v1_SesRecipe, _sweep_v1_SesRecipe__Output>
      TensorRecipe: MessageTypeDefinition<_sweep_v1_TensorRecipe, _sweep_v1_TensorRecipe__Output>
      Worker: SubtypeConstructor<typeof grpc.Client, _sweep_v1_WorkerClient> & { service: _sweep_v1_WorkerDefinition }
      ZeroOrderRecipe: MessageTypeDefinition<_sweep_v1_ZeroOrderRecipe, _sweep_v1_ZeroOrderRecipe__Output>
    }
  }
}

