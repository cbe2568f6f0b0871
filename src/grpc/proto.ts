/** Loads the contract in proto/ at run time (@grpc/proto-loader), so proto/ stays the one source. */
import type { EventEmitter } from "node:events";
import type * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType } from "./generated/worker.js";

export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
export const PROTOCOL = "sweep.v1";

/** The options proto-loader loads with; the generated types (generated/, `npm run proto:types`) are made with the same. */
const definition = protoLoader.loadSync("sweep/v1/worker.proto", {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

// The one cast: proto-loader builds the package at run time, the generated types say what it holds.
const loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;

export const WorkerService = loaded.sweep.v1.Worker;

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
