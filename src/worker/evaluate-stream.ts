/**
 * One Evaluate stream: requests in, one response per candidate out in completion order. Results
 * wait while the stream is full (write() said so) and go out on "drain"; the stream ends once
 * the coordinator has ended its side (or the worker's drain is over) and every candidate is
 * answered. A stream the coordinator cancels abandons its evaluations. While the worker drains,
 * new candidates are answered at once as draining, and at the drain deadline so are those it
 * still holds (failBack).
 */
import { setMaxListeners } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { ModelInputError } from "../models/model-error.js";
import type { DecodedRequest } from "./request-decoder.js";
import type { EvaluateOptions } from "../domain/executor.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../domain/outcome.js";
import type { EvaluateRequest__Output } from "../grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluateResponse } from "../grpc/generated/sweep/v1/EvaluateResponse.js";

/** Where a task runs: the device chosen (named in the response), and its result. */
export type Dispatch = (task: EvaluationTask, opts: EvaluateOptions) => { device: string; result: Promise<EvaluationResult> };

/** The worker's side of its streams (drain.ts): whether it drains, and which streams are open and busy. */
export interface StreamHost {
  readonly draining: boolean;
  opened(stream: EvaluateStream): void;
  closed(stream: EvaluateStream): void;
  /** One of the stream's candidates was answered. */
  settled(): void;
}

export interface EvaluateStreamDeps {
  decode: (req: EvaluateRequest__Output) => DecodedRequest;
  dispatch: Dispatch;
  host: StreamHost;
}

export const DRAINING_ERROR = "worker draining";

/** A candidate being evaluated; its own object, so a result that comes after failBack finds it gone. */
interface Held {
  id: number;
  device: string;
}

export class EvaluateStream {
  /** Fired when the coordinator cancels the stream or the drain deadline gives up on its candidates. */
  private readonly evaluations = new AbortController();
  /** Nothing more is written: the coordinator cancelled the stream, or it ended. */
  private closed = false;
  private readonly held = new Set<Held>();
  private readonly backlog: EvaluateResponse[] = [];
  private blocked = false;
  /** The coordinator ended its side, or the worker's drain is over: end once every candidate is answered. */
  private ending = false;

  constructor(private readonly call: grpc.ServerDuplexStream<EvaluateRequest__Output, EvaluateResponse>, private readonly deps: EvaluateStreamDeps) {
    // Every evaluation of the stream listens here (and stops listening when it ends).
    setMaxListeners(0, this.evaluations.signal);
    deps.host.opened(this);
    call.on("data", (req: EvaluateRequest__Output) => this.receive(req));
    call.on("drain", () => this.drain());
    call.on("end", () => this.finish());
    call.on("cancelled", () => this.cancel());
    call.on("error", () => this.cancel());
  }

  /** Candidates being evaluated. */
  get busy(): number {
    return this.held.size;
  }

  /** Ends the stream once every candidate is answered (the worker's drain is over). */
  finish(): void {
    this.ending = true;
    this.finishIfDone();
  }

  /** The drain deadline: answers every candidate still held as draining and stops their evaluations; returns how many. */
  failBack(): number {
    const given = [...this.held];
    this.held.clear();
    for (const h of given) this.send(draining(h.id, h.device));
    this.evaluations.abort(new Error(DRAINING_ERROR));
    return given.length;
  }

  private receive(req: EvaluateRequest__Output): void {
    const { timeoutMs, candidates } = this.deps.decode(req);
    for (const c of candidates) {
      if (this.deps.host.draining) this.send(draining(c.id, ""));
      else if ("error" in c) this.send({ candidate_id: c.id, ok: false, score: 0, error: c.error, latency_ms: 0, device: "", fatal: c.fatal });
      else this.evaluate(c.id, c.task, timeoutMs);
    }
  }

  private evaluate(id: number, task: EvaluationTask, timeoutMs: number): void {
    const { device, result } = this.deps.dispatch(task, { signal: this.evaluations.signal, timeoutMs });
    const held: Held = { id, device };
    this.held.add(held);
    result
      .then(
        (r) => this.answer(held, {
          candidate_id: id, ok: true, score: r.score, error: "", latency_ms: r.latencyMs, device,
          ...(r.image ? { image: r.image } : {}), ...(r.heldout ? { heldout_scores: r.heldout } : {}),
        }),
        (e: Error) => this.answer(held, {
          candidate_id: id, ok: false, score: 0, error: e.message, latency_ms: 0, device,
          fatal: e instanceof ModelInputError || (e instanceof EvaluationError && e.fatal),
        }),
      );
  }

  /** A result, unless its candidate was failed back or abandoned meanwhile. */
  private answer(held: Held, r: EvaluateResponse): void {
    if (!this.held.delete(held)) return;
    this.send(r);
    this.deps.host.settled();
    this.finishIfDone();
  }

  private cancel(): void {
    this.closed = true;
    this.held.clear();
    this.evaluations.abort();
    this.deps.host.closed(this);
    this.deps.host.settled();
  }

  /** Respects write() returning false: holds results until the stream drains. */
  private send(r: EvaluateResponse): void {
    if (this.closed) return;
    if (this.blocked) this.backlog.push(r);
    else if (!this.call.write(r)) this.blocked = true;
  }

  private drain(): void {
    this.blocked = false;
    while (this.backlog.length > 0 && !this.blocked) if (!this.call.write(this.backlog.shift()!)) this.blocked = true;
    // end() queues behind the writes, so a full stream may end once nothing is held back
    if (this.ending && this.held.size === 0 && this.backlog.length === 0) this.end();
  }

  private finishIfDone(): void {
    if (this.ending && this.held.size === 0 && !this.blocked && this.backlog.length === 0) this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
    this.deps.host.closed(this);
  }
}

function draining(id: number, device: string): EvaluateResponse {
  return { candidate_id: id, ok: false, score: 0, error: DRAINING_ERROR, latency_ms: 0, device, draining: true };
}
