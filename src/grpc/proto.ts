/** Loads the contract in proto/ at run time (@grpc/proto-loader), so proto/ stays the one source. */
import type { EventEmitter } from "node:events";
import type * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
export const PROTOCOL = "sweep.v1";

const definition = protoLoader.loadSync(["sweep/v1/worker.proto", "grpc/health/v1/health.proto"], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  sweep: { v1: { Worker: grpc.ServiceClientConstructor } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

export const WorkerService = loaded.sweep.v1.Worker;
export const HealthService = loaded.grpc.health.v1.Health;

export interface WireEvaluatorSpec {
  kind: string;
  shape: number[];
  latency_ms: number;
  jitter_ms: number;
  module_path: string;
  module_sha256: string;
  model: string;
  height: number;
  width: number;
  steps: number;
  score: string;
  precision: string;
  max_batch: number;
}

export interface WireCandidate {
  id: number;
  recipe?: "random" | "ses" | "tensor";
  random?: { seed: number };
  /** The low band as `low` (older coordinators and workers) or `low_f32le` (raw little-endian float32). */
  ses?: { base_seed: number; wavelet: string; level: number; low?: number[]; low_f32le?: Uint8Array };
  tensor?: { data: number[] };
}

export interface WireRequest {
  evaluator: WireEvaluatorSpec;
  prompt: string;
  prompt_index: number;
  candidates: WireCandidate[];
  timeout_ms: number;
  return_image?: boolean;
}

export interface WireResponse {
  candidate_id: number;
  ok: boolean;
  score: number;
  error: string;
  latency_ms: number;
  device: string;
  image?: Uint8Array;
  fatal?: boolean;
}

export interface WireDescribe {
  protocol: string;
  tool_version: string;
  worker_id: string;
  devices: { id: string; kind: string; slots: number; execution_provider?: string; runtime?: string; name?: string }[];
  capacity: number;
  evaluators: string[];
  models: { name: string; sha256: string; synthetic?: string }[];
  /** Optional protocol features the worker accepts (absent from older workers). */
  features?: string[];
}

/**
 * HTTP/2 receive window, both ends: Node's default of 64 KiB lets a coordinator send 64 KiB (8 SES
 * candidates) before it waits for the worker's WINDOW_UPDATE, so batches of SES recipes crawl
 * through flow-control round trips that cost both processes CPU. 8 MiB holds a full window of
 * cheap candidates on a worker with 16 slots (docs/protocol.md).
 */
export const FLOW_CONTROL_WINDOW = 8 * 1024 * 1024;

/**
 * Channel options, deliberately (docs/protocol.md): keepalive pings every 2 s, a connection
 * whose pings go unanswered for 3 s is dead (catches a SIGSTOPped or unplugged worker fast);
 * messages up to 64 MiB; an 8 MiB receive window.
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
  "grpc.keepalive_time_ms": 2000,
  "grpc.keepalive_timeout_ms": 3000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 2000,
};

export const SERVER_OPTIONS: grpc.ServerOptions = {
  // Read by grpc-js servers once grpc/grpc-node#3058 is released; until then raiseReceiveWindow does it.
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
  "grpc.keepalive_time_ms": 2000,
  "grpc.keepalive_timeout_ms": 3000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 1000,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
};

/**
 * Raises the HTTP/2 receive window of every session a server accepts to `bytes` (stream and
 * connection level). grpc-js 1.14 servers keep Node's 64 KiB and read no option for it
 * (grpc/grpc-node#3058), so this reaches the server's http2 listeners, a private field; where
 * that field is missing it does nothing and says so (the worker still works, SES batches slower).
 * Call after bindAsync.
 */
export function raiseReceiveWindow(server: grpc.Server, bytes: number = FLOW_CONTROL_WINDOW): boolean {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return false;
  for (const listener of listeners.keys() as IterableIterator<EventEmitter>) {
    listener.on("session", (session: http2.ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: bytes });
        session.setLocalWindowSize(bytes);
      } catch {
        // a session closing as it opens: nothing to raise
      }
    });
  }
  return listeners.size > 0;
}
