/** The worker's Evaluate stream handler, on a fake stream: order, backpressure, the end, cancellation, the drain. */
import { EventEmitter } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Drain } from "../src/worker/drain.js";
import { EvaluateStream, type Dispatch } from "../src/worker/evaluate-stream.js";
import type { DecodedRequest } from "../src/worker/request-decoder.js";
import { EvaluationError, type EvaluationResult, type EvaluationTask } from "../src/domain/outcome.js";
import { ModelInputError } from "../src/models/model-error.js";
import type { EvaluateRequest__Output } from "../src/grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluateResponse } from "../src/grpc/generated/sweep/v1/EvaluateResponse.js";

/** A duplex stream whose write() answers `room` (false: full until "drain"). */
class FakeCall extends EventEmitter {
  written: EvaluateResponse[] = [];
  ended = false;
  room = true;
  write(r: EvaluateResponse): boolean {
    this.written.push(r);
    return this.room;
  }
  end(): void {
    this.ended = true;
  }
}

const task = (seed: number): EvaluationTask => ({ evaluator: { kind: "noop", shape: [1, 4, 8, 8] }, prompt: "p", promptIndex: 0, recipe: { kind: "random", seed } });

/** A dispatch whose results the test settles by candidate seed. */
function controlled() {
  const settle = new Map<number, { resolve: (r: EvaluationResult) => void; reject: (e: Error) => void }>();
  const signals: AbortSignal[] = [];
  const dispatch: Dispatch = (t, opts) => {
    signals.push(opts.signal);
    const result = new Promise<EvaluationResult>((resolve, reject) => settle.set((t.recipe as { seed: number }).seed, { resolve, reject }));
    return { device: "cpu", result };
  };
  return { dispatch, settle, signals };
}

const tick = () => new Promise((r) => setImmediate(r));

function open(decoded: DecodedRequest, dispatch: Dispatch, host = new Drain()) {
  const call = new FakeCall();
  new EvaluateStream(call as unknown as grpc.ServerDuplexStream<EvaluateRequest__Output, EvaluateResponse>, { decode: () => decoded, dispatch, host });
  return call;
}

const drainingAnswer = (id: number, device: string) => ({ candidate_id: id, ok: false, score: 0, error: "worker draining", latency_ms: 0, device, draining: true });

describe("an Evaluate stream", () => {
  it("answers refused candidates at once and the others as they finish, then ends after the coordinator has", async () => {
    const { dispatch, settle } = controlled();
    const call = open({
      timeoutMs: 1000,
      candidates: [{ id: 1, task: task(1) }, { id: 2, error: "candidate 2 has no recipe", fatal: false }, { id: 3, task: task(3) }],
    }, dispatch);
    call.emit("data", {} as EvaluateRequest__Output);
    expect(call.written).toEqual([{ candidate_id: 2, ok: false, score: 0, error: "candidate 2 has no recipe", latency_ms: 0, device: "", fatal: false }]);
    call.emit("end");
    settle.get(3)!.resolve({ score: 0.5, latencyMs: 7, worker: "cpu" });
    await tick();
    expect(call.written.map((r) => r.candidate_id)).toEqual([2, 3]);
    expect(call.written[1]).toMatchObject({ ok: true, score: 0.5, latency_ms: 7, device: "cpu" });
    expect(call.ended).toBe(false);
    settle.get(1)!.reject(new EvaluationError("no model", "cpu", true));
    await tick();
    expect(call.written[2]).toMatchObject({ candidate_id: 1, ok: false, error: "no model", device: "cpu", fatal: true });
    expect(call.ended).toBe(true);
  });

  it("marks model input errors fatal and other failures not", async () => {
    const { dispatch, settle } = controlled();
    const call = open({ timeoutMs: 1000, candidates: [{ id: 1, task: task(1) }, { id: 2, task: task(2) }] }, dispatch);
    call.emit("data", {} as EvaluateRequest__Output);
    settle.get(1)!.reject(new ModelInputError("missing file"));
    settle.get(2)!.reject(new Error("threw"));
    await tick();
    expect(call.written.map((r) => [r.candidate_id, r.fatal])).toEqual([[1, true], [2, false]]);
  });

  it("holds results while the stream is full and sends them, in order, when it drains", async () => {
    const { dispatch, settle } = controlled();
    const call = open({ timeoutMs: 1000, candidates: [1, 2, 3].map((id) => ({ id, task: task(id) })) }, dispatch);
    call.emit("data", {} as EvaluateRequest__Output);
    call.emit("end");
    call.room = false;
    for (const id of [1, 2, 3]) settle.get(id)!.resolve({ score: id, latencyMs: 1, worker: "cpu" });
    await tick();
    expect(call.written.map((r) => r.candidate_id)).toEqual([1]);
    expect(call.ended).toBe(false);
    call.room = true;
    call.emit("drain");
    expect(call.written.map((r) => r.candidate_id)).toEqual([1, 2, 3]);
    expect(call.ended).toBe(true);
  });

  it("gives each evaluation the request's deadline, and abandons them all when the coordinator cancels", async () => {
    const { dispatch, settle, signals } = controlled();
    const seen: number[] = [];
    const call = open({ timeoutMs: 1234, candidates: [1, 2].map((id) => ({ id, task: task(id) })) }, (t, opts) => {
      seen.push(opts.timeoutMs);
      return dispatch(t, opts);
    });
    call.emit("data", {} as EvaluateRequest__Output);
    expect(seen).toEqual([1234, 1234]);
    call.emit("cancelled");
    expect(signals.every((s) => s.aborted)).toBe(true);
    settle.get(1)!.resolve({ score: 1, latencyMs: 1, worker: "cpu" });
    await tick();
    expect(call.written).toEqual([]);
  });
});

describe("a draining worker's streams", () => {
  it("answer new candidates at once as draining without evaluating them, finish what they held, then end", async () => {
    const { dispatch, settle } = controlled();
    const drain = new Drain();
    const decoded: DecodedRequest = { timeoutMs: 1000, candidates: [1, 2].map((id) => ({ id, task: task(id) })) };
    const call = open(decoded, dispatch, drain);
    call.emit("data", {} as EvaluateRequest__Output);
    const report = drain.run(10_000);
    decoded.candidates = [{ id: 3, task: task(3) }, { id: 4, error: "no recipe", fatal: false }];
    call.emit("data", {} as EvaluateRequest__Output);
    expect([...settle.keys()]).toEqual([1, 2]);
    expect(call.written).toEqual([drainingAnswer(3, ""), drainingAnswer(4, "")]);
    settle.get(1)!.resolve({ score: 1, latencyMs: 1, worker: "cpu" });
    await tick();
    expect(call.ended).toBe(false);
    settle.get(2)!.resolve({ score: 2, latencyMs: 1, worker: "cpu" });
    expect(await report).toMatchObject({ held: 2, failedBack: 0 });
    expect(call.written.slice(2).map((r) => [r.candidate_id, r.ok])).toEqual([[1, true], [2, true]]);
    expect(call.ended).toBe(true);
  });

  it("fail back what is still running at the deadline as draining, stop it, and ignore its late result", async () => {
    const { dispatch, settle, signals } = controlled();
    const drain = new Drain();
    const call = open({ timeoutMs: 1000, candidates: [1, 2].map((id) => ({ id, task: task(id) })) }, dispatch, drain);
    call.emit("data", {} as EvaluateRequest__Output);
    const report = drain.run(50);
    settle.get(1)!.resolve({ score: 1, latencyMs: 1, worker: "cpu" });
    expect(await report).toMatchObject({ held: 2, failedBack: 1 });
    expect(signals.every((s) => s.aborted)).toBe(true);
    settle.get(2)!.resolve({ score: 2, latencyMs: 1, worker: "cpu" });
    await tick();
    expect(call.written).toEqual([expect.objectContaining({ candidate_id: 1, ok: true }), drainingAnswer(2, "cpu")]);
    expect(call.ended).toBe(true);
  });

  it("do not wait for a stream the coordinator cancelled", async () => {
    const { dispatch } = controlled();
    const drain = new Drain();
    const call = open({ timeoutMs: 1000, candidates: [{ id: 1, task: task(1) }] }, dispatch, drain);
    call.emit("data", {} as EvaluateRequest__Output);
    const report = drain.run(10_000);
    call.emit("cancelled");
    expect(await report).toMatchObject({ held: 1, failedBack: 0 });
    expect(call.written).toEqual([]);
  });
});
