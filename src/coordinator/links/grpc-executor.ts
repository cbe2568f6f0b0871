/**
 * The coordinator's side of the worker protocol: keeps each worker busy up to its advertised
 * capacity with batches grouped by prompt, and moves a lost worker's candidates to the others.
 * A late result of a candidate that was moved is ignored, so nothing is recorded twice.
 */
import * as grpc from "@grpc/grpc-js";
import { CHANNEL_OPTIONS, PROTOCOL, WorkerService, type WireDescribe, type WireEvaluatorSpec, type WireRequest, type WireResponse } from "../../grpc/proto.js";
import { EvaluateRequestEncoder } from "../../grpc/request-encoder.js";
import { FEATURE_SES_LOW_F32LE, recipeToWire, type WireForm } from "../../grpc/wire.js";
import type { EvaluateOptions, Executor } from "../../domain/executor.js";
import { InputError } from "../../domain/input-error.js";
import { dropIpServernameWarning, refusalReason, servesTls } from "./refusal.js";
import type { EvaluatorSpec } from "../../domain/sweep.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../../domain/outcome.js";

/** Extra time the coordinator waits past the worker-side deadline before giving up on a result. */
const DEADLINE_GRACE_MS = 5000;
const DESCRIBE_DEADLINE_MS = 5000;
/**
 * Evaluation time kept queued on a worker per slot, beyond the one running: the next candidates
 * wait on the worker, not a network round trip away. Cheap evaluations thus travel (and run on the
 * worker's threads) in large batches; costly ones keep the minimum depth of 2, so the end of a run
 * and a lost worker leave little work stranded.
 */
const QUEUED_WORK_MS = 10;
const MIN_DEPTH = 2;
const MAX_DEPTH = 64;

/** No worker answered in time: the run cannot start. */
export class NoWorkersError extends Error {}

/** Every worker refused the coordinator or cannot serve it (token, certificates, evaluator): a setup mistake, waiting cannot help. */
export class WorkersRefusedError extends InputError {}

interface Pending {
  id: number;
  task: EvaluationTask;
  opts: EvaluateOptions;
  resolve: (r: EvaluationResult) => void;
  reject: (e: Error) => void;
  moves: number;
  timer?: NodeJS.Timeout;
  link?: WorkerLink;
}

/** Serialized message bytes on the Evaluate streams (measured when GrpcExecutorOptions.measureWire). */
export interface WireStats {
  request_bytes: number;
  response_bytes: number;
  /** Evaluate requests sent (a batch of candidates each) and the candidates in them. */
  requests: number;
  candidates: number;
}

export interface GrpcExecutorOptions {
  /** Count the protobuf bytes of every message (costs a second serialization; for benchmarks). */
  measureWire?: boolean;
  token?: string;
  /** TLS: CA to verify workers with; optional client certificate. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** How often one candidate may lose its worker before it counts as a failed attempt. */
  maxMoves?: number;
  log: (line: string) => void;
}

export interface WorkerSummary {
  address: string;
  state: WorkerLink["state"];
  worker_id: string;
  tool_version: string;
  devices: WireDescribe["devices"];
  capacity: number;
  models: WireDescribe["models"];
  completed: number;
  lost: number;
}

class WorkerLink {
  state: "connecting" | "up" | "down" | "draining" | "removed" = "connecting";
  info?: WireDescribe;
  readonly inFlight = new Map<number, Pending>();
  stream?: grpc.ClientDuplexStream<WireRequest, WireResponse>;
  blocked = false;
  lastError?: string;
  completed = 0;
  lost = 0;
  backoffMs = 250;
  retryTimer?: NodeJS.Timeout;
  /** Its current outage has been logged. */
  reportedDown = false;
  /** Moving average of the worker-side latency of its results; NaN until the first. */
  latencyMs = NaN;
  readonly client: grpc.Client;

  constructor(readonly address: string, credentials: grpc.ChannelCredentials) {
    this.client = new WorkerService(address, credentials, CHANNEL_OPTIONS);
  }

  get capacity(): number {
    return this.info?.capacity ?? 0;
  }

  /** How recipes travel to it: the SES low band as raw bytes only where its Describe announces them. */
  get form(): WireForm {
    return { sesLowBytes: this.info?.features?.includes(FEATURE_SES_LOW_F32LE) ?? false };
  }

  /** Candidates it should have in flight: QUEUED_WORK_MS of work per slot, at least MIN_DEPTH. */
  get window(): number {
    const depth = Number.isNaN(this.latencyMs) ? MIN_DEPTH : Math.ceil(QUEUED_WORK_MS / Math.max(this.latencyMs, 1e-3));
    return this.capacity * Math.min(MAX_DEPTH, Math.max(MIN_DEPTH, depth));
  }

  get free(): number {
    return this.state === "up" && !this.blocked ? this.window - this.inFlight.size : 0;
  }

  /** Refill in batches of a quarter window (one at a time for shallow windows). */
  get refillAt(): number {
    return Math.max(1, Math.floor(this.window / 4));
  }
}

export class GrpcExecutor implements Executor {
  private readonly links = new Map<string, WorkerLink>();
  private readonly queue: Pending[] = [];
  private readonly credentials: grpc.ChannelCredentials;
  private nextId = 1;
  private closed = false;
  private readonly wireSpecs = new WeakMap<EvaluatorSpec, WireEvaluatorSpec>();
  private upListeners: (() => void)[] = [];
  /** Signals already watched: one abort listener per run, not one per candidate. */
  private readonly watched = new WeakSet<AbortSignal>();
  private readonly pending = new Set<Pending>();
  readonly wire: WireStats = { request_bytes: 0, response_bytes: 0, requests: 0, candidates: 0 };
  private readonly evaluateMethod = (WorkerService.service as unknown as Record<string, {
    path: string;
    requestSerialize(m: WireRequest): Buffer;
    responseSerialize(m: WireResponse): Buffer;
    responseDeserialize(b: Buffer): WireResponse;
  }>).Evaluate;
  /** Serializes Evaluate requests into reused buffers (released from each write's callback). */
  private readonly encoder = new EvaluateRequestEncoder();

  /** Workers that refused us for good (refusal.ts), with why: never retried. */
  private readonly refused = new Map<WorkerLink, string>();
  private refusedListeners: (() => void)[] = [];
  /** Workers a TLS handshake was tried on, once, after a plaintext connection failed. */
  private readonly probed = new WeakSet<WorkerLink>();

  constructor(private readonly opts: GrpcExecutorOptions) {
    if (opts.tls) dropIpServernameWarning();
    this.credentials = opts.tls
      ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key ?? null, opts.tls.cert ?? null)
      : grpc.credentials.createInsecure();
  }

  get capacity(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.state === "up") n += l.capacity;
    return n;
  }

  /** Candidates the workers that are up want in flight in all (capacity, more for cheap evaluations). */
  get wanted(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.state === "up") n += l.window;
    return n;
  }

  get addresses(): string[] {
    return [...this.links.keys()].filter((a) => this.links.get(a)!.state !== "removed");
  }

  summary(): WorkerSummary[] {
    return [...this.links.values()].map((l) => ({
      address: l.address,
      state: l.state,
      worker_id: l.info?.worker_id ?? "",
      tool_version: l.info?.tool_version ?? "",
      devices: l.info?.devices ?? [],
      capacity: l.capacity,
      models: l.info?.models ?? [],
      completed: l.completed,
      lost: l.lost,
    }));
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.token) md.set("authorization", `Bearer ${this.opts.token}`);
    return md;
  }

  addWorker(address: string): void {
    const existing = this.links.get(address);
    if (existing && existing.state !== "removed") {
      if (existing.state === "draining") existing.state = existing.stream ? "up" : "down";
      return;
    }
    const link = new WorkerLink(address, this.credentials);
    this.links.set(address, link);
    this.connect(link);
  }

  /** Stops sending to a worker; what it has in flight finishes there (drain). */
  removeWorker(address: string): void {
    const link = this.links.get(address);
    if (!link || link.state === "removed") return;
    link.state = "draining";
    this.opts.log(`worker ${address} left the worker list: draining ${link.inFlight.size} in flight`);
    this.retireIfDrained(link);
  }

  private retireIfDrained(link: WorkerLink): void {
    if (link.state !== "draining" || link.inFlight.size > 0) return;
    link.state = "removed";
    link.stream?.end();
    clearTimeout(link.retryTimer);
    link.client.close();
  }

  /** Resolves once some worker is up; rejects after `timeoutMs` with what each worker said. */
  waitForWorkers(timeoutMs: number): Promise<void> {
    if (this.capacity > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const states = [...this.links.values()].map((l) => `${l.address} (${l.state}${l.lastError ? `: ${l.lastError}` : ""})`).join(", ");
        reject(new NoWorkersError(`no worker reachable within ${timeoutMs / 1000} s: ${states || "no workers given"}`));
      }, timeoutMs);
      this.upListeners.push(() => {
        clearTimeout(timer);
        resolve();
      });
      const refused = () => {
        clearTimeout(timer);
        reject(new WorkersRefusedError([...this.refused].map(([l, why]) => `worker ${l.address} cannot be used: ${why}`).join("; ")));
      };
      if (this.allRefused()) refused();
      else this.refusedListeners.push(refused);
    });
  }

  private allRefused(): boolean {
    const links = [...this.links.values()].filter((l) => l.state !== "removed");
    return links.length > 0 && links.every((l) => this.refused.has(l));
  }

  /** A worker that refused us for good: said once, not retried; when all have, waitForWorkers stops. */
  private refuse(link: WorkerLink, why: string): void {
    if (this.closed || link.state === "removed" || link.info || this.refused.has(link)) return;
    clearTimeout(link.retryTimer);
    link.lastError = `refused: ${why}`;
    link.state = link.state === "draining" ? "draining" : "down";
    this.refused.set(link, why);
    this.opts.log(`worker ${link.address} cannot be used: ${why}; not retried`);
    if (this.allRefused()) for (const l of this.refusedListeners.splice(0)) l();
  }

  private connect(link: WorkerLink): void {
    if (this.closed || link.state === "removed") return;
    link.state = link.state === "draining" ? "draining" : "connecting";
    const client = link.client as unknown as {
      Describe(req: object, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<WireDescribe>): void;
    };
    client
      .Describe({}, this.metadata(), { deadline: Date.now() + DESCRIBE_DEADLINE_MS }, (err, info) => {
        if (this.closed || link.state === "removed" || this.refused.has(link)) return;
        if (err || !info) {
          // Before a worker ever answered: a refused token or certificate is not retried.
          const refusal = link.info ? undefined : refusalReason(err);
          if (refusal) return this.refuse(link, refusal);
          if (!link.info && !this.opts.tls && !this.probed.has(link) && /Failed to connect/.test(err?.details ?? "")) {
            this.probed.add(link);
            void servesTls(link.address).then((tls) => tls && this.refuse(link, "it serves TLS: pass --tls-ca with the CA of its certificate"));
          }
          return this.retryLater(link, err?.details || err?.message || "no answer");
        }
        if (info.protocol !== PROTOCOL) {
          link.lastError = `speaks ${info.protocol}, not ${PROTOCOL}`;
          link.state = "down";
          this.opts.log(`worker ${link.address} ${link.lastError}; not used`);
          return;
        }
        link.info = info;
        this.openStream(link);
      });
  }

  /** Asks the workers that are up to describe themselves again: models loaded since they connected. */
  async refreshDescriptions(): Promise<void> {
    await Promise.all([...this.links.values()].filter((l) => l.state === "up" || l.state === "draining").map((link) => new Promise<void>((resolve) => {
      const client = link.client as unknown as {
        Describe(req: object, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<WireDescribe>): void;
      };
      client.Describe({}, this.metadata(), { deadline: Date.now() + DESCRIBE_DEADLINE_MS }, (err, info) => {
        if (!err && info) link.info = info;
        resolve();
      });
    })));
  }

  private retryLater(link: WorkerLink, why: string): void {
    // grpc-js appends an empty "Resolution note" to connection errors.
    why = why.replace(/\.?\s*Resolution note:\s*$/, "");
    // Said once per outage, not at every reconnection attempt.
    if (!link.reportedDown) this.opts.log(`worker ${link.address} unavailable (${why}); retrying every 2 s until it is back`);
    link.reportedDown = true;
    link.lastError = why;
    link.state = link.state === "draining" ? "draining" : "down";
    clearTimeout(link.retryTimer);
    link.retryTimer = setTimeout(() => this.connect(link), link.backoffMs);
    link.backoffMs = Math.min(link.backoffMs * 2, 2000);
  }

  private openStream(link: WorkerLink): void {
    const stream = link.client.makeBidiStreamRequest(this.evaluateMethod.path, this.encoder.serialize, this.evaluateMethod.responseDeserialize, this.metadata()) as grpc.ClientDuplexStream<WireRequest, WireResponse>;
    link.stream = stream;
    link.blocked = false;
    const wasDraining = link.state === "draining";
    link.state = wasDraining ? "draining" : "up";
    link.backoffMs = 250;
    link.lastError = undefined;
    link.reportedDown = false;
    this.opts.log(`worker ${link.address} up: ${link.info!.worker_id}, ${link.capacity} slots (${link.info!.devices.map((d) => `${d.id}:${d.slots}`).join(", ")})`);
    stream.on("data", (r: WireResponse) => this.onResult(link, r));
    stream.on("drain", () => {
      link.blocked = false;
      this.pump();
    });
    const lost = (why: string) => {
      if (link.stream !== stream || this.closed) return;
      link.stream = undefined;
      this.onLost(link, why);
    };
    stream.on("error", (e: grpc.ServiceError) => lost(e.details || e.message));
    stream.on("end", () => lost("stream ended"));
    const listeners = this.upListeners;
    this.upListeners = [];
    for (const l of listeners) l();
    this.pump();
  }

  private onLost(link: WorkerLink, why: string): void {
    if (link.state === "removed") return;
    const moved = [...link.inFlight.values()];
    link.inFlight.clear();
    if (moved.length > 0) link.lost++;
    for (const p of moved.reverse()) {
      clearTimeout(p.timer);
      p.link = undefined;
      p.moves++;
      if (p.moves > (this.opts.maxMoves ?? 5)) {
        this.settle(p, () => p.reject(new EvaluationError(`lost its worker ${p.moves} times (last: ${link.address}: ${why})`, link.address)));
      } else {
        this.queue.unshift(p);
      }
    }
    const draining = link.state === "draining";
    link.state = draining ? "draining" : "down";
    const waiting = this.capacity === 0 && this.pending.size > 0 ? "; no worker is up, the sweep waits for one" : "";
    if (moved.length > 0 || waiting) this.opts.log(`worker ${link.address} lost (${why}); ${moved.length} candidates back in the queue${waiting}`);
    if (draining) this.retireIfDrained(link);
    else this.retryLater(link, why);
    this.pump();
  }

  evaluate(task: EvaluationTask, opts: EvaluateOptions): Promise<EvaluationResult> {
    return new Promise((resolve, reject) => {
      if (opts.signal.aborted) return reject(opts.signal.reason);
      const p: Pending = { id: this.nextId++, task, opts, resolve, reject, moves: 0 };
      if (!this.watched.has(opts.signal)) {
        this.watched.add(opts.signal);
        opts.signal.addEventListener("abort", () => {
          for (const q of [...this.pending]) if (q.opts.signal === opts.signal) this.abandon(q);
        }, { once: true });
      }
      this.pending.add(p);
      this.queue.push(p);
      this.pump();
    });
  }

  private settle(p: Pending, action: () => void): void {
    clearTimeout(p.timer);
    this.pending.delete(p);
    action();
  }

  private abandon(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    if (p.link) {
      p.link.inFlight.delete(p.id);
      this.retireIfDrained(p.link);
    }
    this.settle(p, () => p.reject(p.opts.signal.reason));
  }

  private onResult(link: WorkerLink, r: WireResponse): void {
    // 5 bytes of gRPC message framing each way, plus the protobuf message.
    if (this.opts.measureWire) this.wire.response_bytes += 5 + this.evaluateMethod.responseSerialize(r).length;
    const p = link.inFlight.get(r.candidate_id);
    if (!p) return;
    link.inFlight.delete(r.candidate_id);
    link.completed++;
    if (r.ok) link.latencyMs = Number.isNaN(link.latencyMs) ? r.latency_ms : 0.8 * link.latencyMs + 0.2 * r.latency_ms;
    p.link = undefined;
    const where = `${link.address}/${r.device}`;
    this.settle(p, () => (r.ok
      ? p.resolve({ score: r.score, latencyMs: r.latency_ms, worker: where, ...(r.image && r.image.length > 0 ? { image: new Uint8Array(r.image) } : {}) })
      : p.reject(new EvaluationError(r.error, where, !!r.fatal))));
    this.retireIfDrained(link);
    this.pump();
  }

  private wireSpec(e: EvaluatorSpec): WireEvaluatorSpec {
    let w = this.wireSpecs.get(e);
    if (!w) {
      w = {
        kind: e.kind,
        shape: [...e.shape],
        latency_ms: e.kind === "synthetic" ? e.latency_ms : 0,
        jitter_ms: e.kind === "synthetic" ? e.jitter_ms : 0,
        module_path: e.kind === "module" ? e.module_path : "",
        module_sha256: e.kind === "module" ? e.module_sha256 : "",
        ...(e.kind === "flux2-pickscore"
          ? { model: e.model, height: e.height, width: e.width, steps: e.steps, score: e.score, precision: e.precision, max_batch: e.max_batch }
          : { model: "", height: 0, width: 0, steps: 0, score: "", precision: "", max_batch: 0 }),
      };
      this.wireSpecs.set(e, w);
    }
    return w;
  }

  /**
   * Fills free worker windows from the queue, a batch per prompt, largest free capacity first. A
   * worker whose free room is below its refill mark still has work in flight; its next result
   * brings it back here.
   */
  private pump(): void {
    if (this.queue.length === 0) return;
    const links = [...this.links.values()].filter((l) => l.free >= Math.min(l.refillAt, this.queue.length)).sort((a, b) => b.free - a.free);
    for (const link of links) {
      while (link.free > 0 && this.queue.length > 0) this.send(link, this.takeBatch(link.free));
    }
  }

  private takeBatch(max: number): Pending[] {
    const head = this.queue[0];
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < max && p.task.promptIndex === head.task.promptIndex && p.task.evaluator === head.task.evaluator && !!p.task.returnImage === !!head.task.returnImage) batch.push(p);
      else rest.push(p);
    }
    this.queue.length = 0;
    this.queue.push(...rest);
    return batch;
  }

  private send(link: WorkerLink, batch: Pending[]): void {
    const head = batch[0];
    const form = link.form;
    const request: WireRequest = {
      evaluator: this.wireSpec(head.task.evaluator),
      prompt: head.task.prompt,
      prompt_index: head.task.promptIndex,
      candidates: batch.map((p) => recipeToWire(p.id, p.task.recipe, form)),
      timeout_ms: head.opts.timeoutMs,
      ...(head.task.returnImage ? { return_image: true } : {}),
    };
    for (const p of batch) {
      link.inFlight.set(p.id, p);
      p.link = link;
      p.timer = setTimeout(() => {
        if (p.link !== link || !link.inFlight.delete(p.id)) return;
        p.link = undefined;
        this.retireIfDrained(link);
        this.settle(p, () => p.reject(new EvaluationError(`no result from ${link.address} within ${(p.opts.timeoutMs + DEADLINE_GRACE_MS) / 1000} s`, link.address)));
        this.pump();
      }, p.opts.timeoutMs + DEADLINE_GRACE_MS);
    }
    if (this.opts.measureWire) {
      this.wire.request_bytes += 5 + this.evaluateMethod.requestSerialize(request).length;
      this.wire.requests++;
      this.wire.candidates += batch.length;
    }
    if (!link.stream!.write(request, () => this.encoder.release(request))) link.blocked = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.retryTimer);
      link.stream?.cancel();
      link.client.close();
    }
    for (const p of this.queue.splice(0)) this.settle(p, () => p.reject(new Error("executor closed")));
  }
}
