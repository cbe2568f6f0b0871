/**
 * The coordinator's serializer for Evaluate requests: the same protobuf encoding as proto-loader's
 * (same .proto, same protobufjs), written into buffers that are used again once grpc-js has copied
 * them into its framed message. A batch of SES candidates is about 8 KiB each; a fresh buffer per
 * request made V8 count that memory towards its next full collection, which then ran several times
 * a second (BENCHMARKS.md, issue 14).
 *
 * grpc-js (1.14) copies a serialized message into a new framed buffer (its compression filter)
 * before it calls the write's callback, on every path: so `release`, called from the callback of
 * `stream.write(request, callback)`, hands the buffer back. A request whose callback never comes
 * (a stream that broke) keeps its buffer, which is then collected as any other.
 */
import path from "node:path";
import protobuf from "protobufjs";
import type { EvaluateRequest } from "./generated/sweep/v1/EvaluateRequest.js";
import { PROTO_DIR } from "./proto.js";

/** Buffers by power-of-two size, at most MAX_FREE of each size kept; smaller messages are not pooled. */
const MIN_POOLED = 4096;
const MAX_FREE = 8;

class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** The memory this pool handed out (not Node's shared pool, which small buffers come from). */
  private readonly own = new WeakSet<ArrayBufferLike>();

  take(bytes: number): Buffer {
    if (bytes < MIN_POOLED) return Buffer.allocUnsafe(bytes);
    let size = MIN_POOLED;
    while (size < bytes) size *= 2;
    let whole = this.free.get(size)?.pop();
    if (!whole) {
      whole = Buffer.allocUnsafeSlow(size);
      this.own.add(whole.buffer);
    }
    return whole.subarray(0, bytes);
  }

  give(buffer: Buffer): void {
    if (!this.own.has(buffer.buffer)) return;
    const size = buffer.buffer.byteLength;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    if (list.length < MAX_FREE) list.push(Buffer.from(buffer.buffer, 0, size));
  }
}

export class EvaluateRequestEncoder {
  private readonly type: protobuf.Type;
  private readonly Writer: new () => protobuf.Writer;
  private readonly pool = new BufferPool();
  /** The buffer each request was encoded into, until released. */
  private readonly buffers = new WeakMap<EvaluateRequest, Buffer>();

  constructor() {
    const root = new protobuf.Root();
    root.loadSync(path.join(PROTO_DIR, "sweep/v1/worker.proto"), { keepCase: true });
    this.type = root.lookupType("sweep.v1.EvaluateRequest");
    const pool = this.pool;
    // protobufjs's Writer#finish allocates through the static `alloc` of the writer's class.
    this.Writer = class PooledWriter extends protobuf.BufferWriter {
      static override alloc(size: number): Buffer {
        return pool.take(size);
      }
    };
  }

  /** The request's protobuf bytes, in a buffer that is reused after `release(request)`. */
  readonly serialize = (request: EvaluateRequest): Buffer => {
    const bytes = this.type.encode(this.type.fromObject({ ...request }), new this.Writer()).finish() as Buffer;
    this.buffers.set(request, bytes);
    return bytes;
  };

  /** grpc-js has copied the request's bytes (its write callback came): the buffer may be reused. */
  release(request: EvaluateRequest): void {
    const bytes = this.buffers.get(request);
    if (!bytes) return;
    this.buffers.delete(request);
    this.pool.give(bytes);
  }
}
