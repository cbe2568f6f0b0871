// Original file: proto/sweep/v1/worker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeRequest as _sweep_v1_DescribeRequest, DescribeRequest__Output as _sweep_v1_DescribeRequest__Output } from '../../sweep/v1/DescribeRequest.js';
import type { DescribeResponse as _sweep_v1_DescribeResponse, DescribeResponse__Output as _sweep_v1_DescribeResponse__Output } from '../../sweep/v1/DescribeResponse.js';
import type { EvaluateRequest as _sweep_v1_EvaluateRequest, EvaluateRequest__Output as _sweep_v1_EvaluateRequest__Output } from '../../sweep/v1/EvaluateRequest.js';
import type { EvaluateResponse as _sweep_v1_EvaluateResponse, EvaluateResponse__Output as _sweep_v1_EvaluateResponse__Output } from '../../sweep/v1/EvaluateResponse.js';

export interface WorkerClient extends grpc.Client {
  /**
   * What the worker is: versions, devices and their slots, evaluators, loaded model digests.
   */
  Describe(argument: _sweep_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _sweep_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _sweep_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _sweep_v1_DescribeRequest, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What the worker is: versions, devices and their slots, evaluators, loaded model digests.
   */
  describe(argument: _sweep_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _sweep_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _sweep_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _sweep_v1_DescribeRequest, callback: grpc.requestCallback<_sweep_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Batches of candidates in, one result per candidate out (in completion order, id echoed).
   */
  Evaluate(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateResponse__Output>;
  Evaluate(options?: grpc.CallOptions): grpc.ClientDuplexStream<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateResponse__Output>;
  /**
   * Batches of candidates in, one result per candidate out (in completion order, id echoed).
   */
  evaluate(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateResponse__Output>;
  evaluate(options?: grpc.CallOptions): grpc.ClientDuplexStream<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateResponse__Output>;
  
}

export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  /**
   * What the worker is: versions, devices and their slots, evaluators, loaded model digests.
   */
  Describe: grpc.handleUnaryCall<_sweep_v1_DescribeRequest__Output, _sweep_v1_DescribeResponse>;
  
  /**
   * Batches of candidates in, one result per candidate out (in completion order, id echoed).
   */
  Evaluate: grpc.handleBidiStreamingCall<_sweep_v1_EvaluateRequest__Output, _sweep_v1_EvaluateResponse>;
  
}

export interface WorkerDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_sweep_v1_DescribeRequest, _sweep_v1_DescribeResponse, _sweep_v1_DescribeRequest__Output, _sweep_v1_DescribeResponse__Output>
  Evaluate: MethodDefinition<_sweep_v1_EvaluateRequest, _sweep_v1_EvaluateResponse, _sweep_v1_EvaluateRequest__Output, _sweep_v1_EvaluateResponse__Output>
}
