/**
 * The coordinator's side of the worker protocol: the candidates waiting for a worker, the links to
 * the workers (worker-link.ts), and the scheduling policy (scheduling/policy.ts) that keeps each
 * worker busy up to its window with batches grouped by prompt. A lost worker's candidates go back
 * to the front of the queue for the others, and so do those a draining worker fails back (not
 * counted as a move or an attempt: the candidate did nothing wrong); a late result of a candidate
 * that was moved is ignored, so nothing is recorded twice.
 */
import * as grpc from "@grpc/grpc-js";
import { WorkerService } from "../../grpc/proto.js";
import { EvaluateRequestEncoder } from "../../grpc/request-encoder.js";
import { evaluatorToWire, recipeToWire } from "../../grpc/wire.js";
import type { DescribeResponse__Output } from "../../grpc/generated/sweep/v1/DescribeResponse.js";
import type { EvaluateRequest } from "../../grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluateResponse__Output } from "../../grpc/generated/sweep/v1/EvaluateResponse.js";
import type { EvaluateOptions, Executor } from "../../domain/executor.js";
import { InputError } from "../../domain/input-error.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../../domain/outcome.js";
import { BatchQueue } from "../../util/batch-queue.js";
import { linksToFill, sameBatch } from "../scheduling/policy.js";
import { dropIpServernameWarning } from "./refusal.js";
import { WorkerLink, type LinkEvents, type LinkSettings, type LinkState } from "./worker-link.js";

/** Extra time the coordinator waits past the worker-side deadline before giving up on a result. */
const DEADLINE_GRACE_MS = 5000;

/** No worker answered in time: the run cannot start. */
export class NoWorkersError extends Error {}

/** Every worker refused the coordinator or cannot serve it (token, certificates, evaluator): a setup mistake, waiting cannot help. */
export class WorkersRefusedError extends InputError {}

/** A candidate from evaluate() until it settles. */
interface Pending {
  id: number;
  task: EvaluationTask;
  opts: EvaluateOptions;
  resolve: (r: EvaluationResult) => void;
  reject: (e: Error) => void;
  /** Times it lost its worker. */
  moves: number;
  timer?: NodeJS.Timeout;
  link?: WorkerLink<Pending>;
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
  /** The evaluator kind the run needs: workers that do not list it in their Describe are refused. */
  evaluator?: string;
  /** Describe features the run's recipes need (recipeFeatures): workers that lack one are refused. */
  features?: readonly string[];
  /** Candidates a worker runs together (evaluatorBatch); default 1. */
  batch?: number;
  /** How often one candidate may lose its worker before it counts as a failed attempt. */
  maxMoves?: number;
  log: (line: string) => void;
}

export interface WorkerSummary {
  address: string;
  state: LinkState;
  worker_id: string;
  tool_version: string;
  devices: DescribeResponse__Output["devices"];
  capacity: number;
  models: DescribeResponse__Output["models"];
  completed: number;
  lost: number;
}

export class GrpcExecutor implements Executor {
  private readonly links = new Map<string, WorkerLink<Pending>>();
  private readonly queue = new BatchQueue<Pending>();
  private readonly pending = new Set<Pending>();
  private readonly settings: LinkSettings;
  private readonly events: LinkEvents<Pending>;
  private nextId = 1;
  private upListeners: (() => void)[] = [];
  private refusedListeners: (() => void)[] = [];
  /** Signals already watched: one abort listener per run, not one per candidate. */
  private readonly watched = new WeakSet<AbortSignal>();
  readonly wire: WireStats = { request_bytes: 0, response_bytes: 0, requests: 0, candidates: 0 };

  constructor(private readonly opts: GrpcExecutorOptions) {
    if (opts.tls) dropIpServernameWarning();
    this.settings = {
      credentials: opts.tls ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key ?? null, opts.tls.cert ?? null) : grpc.credentials.createInsecure(),
      metadata: () => {
        const md = new grpc.Metadata();
        if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
        return md;
      },
      tls: !!opts.tls,
      evaluator: opts.evaluator,
      features: opts.features ?? [],
      batch: opts.batch ?? 1,
      /** Serializes Evaluate requests into reused buffers (released once each write is done). */
      encoder: new EvaluateRequestEncoder(),
    };
    this.events = {
      up: () => {
        for (const l of this.upListeners.splice(0)) l();
        this.pump();
      },
      result: (link, r) => this.onResult(link, r),
      writable: () => this.pump(),
      lost: (link, why, moved) => this.onLost(link, why, moved),
      refused: () => {
        if (this.allRefused()) for (const l of this.refusedListeners.splice(0)) l();
      },
      log: opts.log,
    };
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

  addWorker(address: string): void {
    const existing = this.links.get(address);
    if (existing && existing.state !== "removed") return existing.rejoin();
    const link = new WorkerLink(address, this.settings, this.events);
    this.links.set(address, link);
    link.connect();
  }

  /**
   * Stops sending to a worker; what it has in flight finishes there (drain), or moves once its
   * stream breaks. `quiet`: the caller said why (a local worker that died).
   */
  removeWorker(address: string, quiet = false): void {
    const link = this.links.get(address);
    if (!link || link.state === "removed") return;
    if (!quiet) this.opts.log(`worker ${address} left the worker list: draining ${link.inFlight.size} in flight`);
    link.drain();
  }

  /** Resolves once some worker is up; rejects after `timeoutMs` with what each worker said. */
  waitForWorkers(timeoutMs: number): Promise<void> {
    if (this.capacity > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new NoWorkersError(`no worker reachable within ${timeoutMs / 1000} s: ${this.states()}`)), timeoutMs);
      this.upListeners.push(() => {
        clearTimeout(timer);
        resolve();
      });
      const refused = () => {
        clearTimeout(timer);
        const reasons = [...this.links.values()].filter((l) => l.refusal).map((l) => `worker ${l.address} cannot be used: ${l.refusal}`);
        reject(new WorkersRefusedError(reasons.join("; ")));
      };
      if (this.allRefused()) refused();
      else this.refusedListeners.push(refused);
    });
  }

  /** Each worker's state and last error, in a line. */
  states(): string {
    const links = [...this.links.values()].filter((l) => l.state !== "removed");
    return links.map((l) => `${l.address} (${l.state}${l.lastError ? `: ${l.lastError}` : ""})`).join(", ") || "no workers given";
  }

  private allRefused(): boolean {
    const links = [...this.links.values()].filter((l) => l.state !== "removed");
    return links.length > 0 && links.every((l) => l.refusal);
  }

  /** Asks the workers that are up to describe themselves again: models loaded since they connected. */
  async refreshDescriptions(): Promise<void> {
    await Promise.all([...this.links.values()].filter((l) => l.state === "up" || l.state === "draining").map((l) => l.describeAgain()));
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
    this.queue.remove(p);
    if (p.link) {
      p.link.inFlight.delete(p.id);
      p.link.retireIfDrained();
    }
    this.settle(p, () => p.reject(p.opts.signal.reason));
  }

  /** A worker's stream broke: its candidates go back to the front of the queue, unless they moved too often. */
  private onLost(link: WorkerLink<Pending>, why: string, moved: Pending[]): void {
    const back: Pending[] = [];
    for (const p of moved) {
      clearTimeout(p.timer);
      p.link = undefined;
      p.moves++;
      if (p.moves > (this.opts.maxMoves ?? 5)) {
        this.settle(p, () => p.reject(new EvaluationError(`lost its worker ${p.moves} times (last: ${link.address}: ${why})`, link.address)));
      } else {
        back.push(p);
      }
    }
    this.queue.requeue(back);
    const waiting = this.capacity === 0 && this.pending.size > 0 ? "; no worker is up, the sweep waits for one" : "";
    if (moved.length > 0 || waiting) this.opts.log(`worker ${link.address} lost (${why}); ${moved.length} candidates back in the queue${waiting}`);
    this.pump();
  }

  private onResult(link: WorkerLink<Pending>, r: EvaluateResponse__Output): void {
    // 5 bytes of gRPC message framing each way, plus the protobuf message.
    if (this.opts.measureWire) this.wire.response_bytes += 5 + WorkerService.service.Evaluate.responseSerialize(r).length;
    const p = link.inFlight.get(r.candidate_id);
    if (!p) return;
    link.inFlight.delete(r.candidate_id);
    if (r.draining) return this.failedBack(link, p);
    link.completed++;
    if (r.ok) link.latency.add(r.latency_ms);
    p.link = undefined;
    const where = `${link.address}/${r.device}`;
    this.settle(p, () => (r.ok
      ? p.resolve({
        score: r.score, latencyMs: r.latency_ms, worker: where,
        ...(r.image.length > 0 ? { image: new Uint8Array(r.image) } : {}),
        ...(r.heldout_scores.length > 0 ? { heldout: [...r.heldout_scores] } : {}),
      })
      : p.reject(new EvaluationError(r.error, where, r.fatal))));
    link.retireIfDrained();
    this.pump();
  }

  /** The worker drains and did not evaluate `p`: back to the front of the queue, and nothing more to that worker. */
  private failedBack(link: WorkerLink<Pending>, p: Pending): void {
    clearTimeout(p.timer);
    p.link = undefined;
    this.queue.requeue([p]);
    if (link.workerDraining()) {
      const waiting = this.capacity === 0 ? "; no worker is up, the sweep waits for one" : "";
      this.opts.log(`worker ${link.address} is draining: no more work goes to it, what it fails back goes to the other workers${waiting}`);
    }
    link.retireIfDrained();
    this.pump();
  }

  /** Fills the links the policy picks from the queue, a batch per prompt. */
  private pump(): void {
    if (this.queue.length === 0) return;
    for (const link of linksToFill(this.links.values(), this.queue.length)) {
      while (link.free > 0 && this.queue.length > 0) this.send(link, this.queue.take(link.free, (a, b) => sameBatch(a.task, b.task)));
    }
  }

  private send(link: WorkerLink<Pending>, batch: Pending[]): void {
    const head = batch[0];
    const form = link.form;
    const request: EvaluateRequest = {
      evaluator: evaluatorToWire(head.task.evaluator),
      prompt: head.task.prompt,
      prompt_index: head.task.promptIndex,
      candidates: batch.map((p) => recipeToWire(p.id, p.task.recipe, form)),
      timeout_ms: head.opts.timeoutMs,
      ...(head.task.returnImage ? { return_image: true } : {}),
      ...(head.task.heldout ? { heldout: head.task.heldout } : {}),
    };
    for (const p of batch) {
      link.inFlight.set(p.id, p);
      p.link = link;
      p.timer = setTimeout(() => this.timedOut(link, p), p.opts.timeoutMs + DEADLINE_GRACE_MS);
    }
    if (this.opts.measureWire) {
      this.wire.request_bytes += 5 + WorkerService.service.Evaluate.requestSerialize(request).length;
      this.wire.requests++;
      this.wire.candidates += batch.length;
    }
    link.send(request);
  }

  private timedOut(link: WorkerLink<Pending>, p: Pending): void {
    if (p.link !== link || !link.inFlight.delete(p.id)) return;
    p.link = undefined;
    link.retireIfDrained();
    this.settle(p, () => p.reject(new EvaluationError(`no result from ${link.address} within ${(p.opts.timeoutMs + DEADLINE_GRACE_MS) / 1000} s`, link.address)));
    this.pump();
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) link.close();
    for (const p of this.queue.drain()) this.settle(p, () => p.reject(new Error("executor closed")));
  }
}
