/**
 * One Evaluate stream: requests in, one response per candidate out in completion order. Results
 * wait while the stream is full (write() said so) and go out on "drain"; the stream ends once
 * the coordinator has ended its side and every candidate is answered. A stream the coordinator
 * cancels abandons its evaluations.
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

export interface EvaluateStreamDeps {
  decode: (req: EvaluateRequest__Output) => DecodedRequest;
  dispatch: Dispatch;
}

export class EvaluateStream {
  private readonly abandon = new AbortController();
  private readonly backlog: EvaluateResponse[] = [];
  private blocked = false;
  private pending = 0;
  private ended = false;

  constructor(private readonly call: grpc.ServerDuplexStream<EvaluateRequest__Output, EvaluateResponse>, private readonly deps: EvaluateStreamDeps) {
    // Every evaluation of the stream listens here (and stops listening when it ends).
    setMaxListeners(0, this.abandon.signal);
    call.on("data", (req: EvaluateRequest__Output) => this.receive(req));
    call.on("drain", () => this.drain());
    call.on("end", () => {
      this.ended = true;
      this.finishIfDone();
    });
    call.on("cancelled", () => this.abandon.abort());
    call.on("error", () => this.abandon.abort());
  }

  private receive(req: EvaluateRequest__Output): void {
    const { timeoutMs, candidates } = this.deps.decode(req);
    for (const c of candidates) {
      if ("error" in c) this.send({ candidate_id: c.id, ok: false, score: 0, error: c.error, latency_ms: 0, device: "", fatal: c.fatal });
      else this.evaluate(c.id, c.task, timeoutMs);
    }
  }

  private evaluate(id: number, task: EvaluationTask, timeoutMs: number): void {
    this.pending++;
    const { device, result } = this.deps.dispatch(task, { signal: this.abandon.signal, timeoutMs });
    result
      .then(
        (r) => this.send({ candidate_id: id, ok: true, score: r.score, error: "", latency_ms: r.latencyMs, device, ...(r.image ? { image: r.image } : {}) }),
        (e: Error) => this.send({
          candidate_id: id, ok: false, score: 0, error: e.message, latency_ms: 0, device,
          fatal: e instanceof ModelInputError || (e instanceof EvaluationError && e.fatal),
        }),
      )
      .finally(() => {
        this.pending--;
        this.finishIfDone();
      });
  }

  /** Respects write() returning false: holds results until the stream drains. */
  private send(r: EvaluateResponse): void {
    if (this.abandon.signal.aborted) return;
    if (this.blocked) this.backlog.push(r);
    else if (!this.call.write(r)) this.blocked = true;
  }

  private drain(): void {
    this.blocked = false;
    while (this.backlog.length > 0 && !this.blocked) if (!this.call.write(this.backlog.shift()!)) this.blocked = true;
    // end() queues behind the writes, so a full stream may end once nothing is held back
    if (this.ended && this.pending === 0 && this.backlog.length === 0) this.call.end();
  }

  private finishIfDone(): void {
    if (this.ended && this.pending === 0 && !this.blocked && this.backlog.length === 0) this.call.end();
  }
}
