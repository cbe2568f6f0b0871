// The coordinator's pooled Evaluate serializer writes proto-loader's bytes, and reuses a buffer only
// once it is released.
import { describe, expect, it } from "vitest";
import type { EvaluateRequest } from "../src/grpc/generated/sweep/v1/EvaluateRequest.js";
import { WorkerService } from "../src/grpc/proto.js";
import { EvaluateRequestEncoder } from "../src/grpc/request-encoder.js";
import { recipeToWire } from "../src/grpc/wire.js";

const standard = WorkerService.service.Evaluate.requestSerialize;

const evaluator = {
  kind: "flux2-pickscore", shape: [1, 128, 64, 64], latency_ms: 0, jitter_ms: 0, module_path: "", module_sha256: "",
  model: "klein", height: 1024, width: 1024, steps: 4, score: "cosine", precision: "bfloat16", max_batch: 4,
};

function request(n: number, sesLowBytes: boolean, extra: Partial<EvaluateRequest> = {}): EvaluateRequest {
  const candidates = Array.from({ length: n }, (_, i) => {
    const low = Float32Array.from({ length: 2048 }, (_, j) => Math.sin(i * 7 + j) * 3);
    if (i % 3 === 0) return recipeToWire(2 ** 40 + i, { kind: "random", seed: 2 ** 52 + i });
    if (i % 3 === 1) return recipeToWire(i, { kind: "ses", baseSeed: i, wavelet: "db2", level: 3, low }, { sesLowBytes });
    return { id: i, tensor: { data: Array.from(low.subarray(0, 16)) } };
  });
  return { evaluator, prompt: "a lighthouse at dawn, \u00e9t\u00e9", prompt_index: 7, candidates, timeout_ms: 600_000, ...extra };
}

describe("the pooled Evaluate serializer", () => {
  it("writes the bytes proto-loader writes", () => {
    const encoder = new EvaluateRequestEncoder();
    for (const r of [request(1, true), request(5, true), request(64, true), request(9, false), request(3, true, { return_image: true }), request(0, true)]) {
      expect(Buffer.compare(encoder.serialize(r), standard(r))).toBe(0);
    }
  });

  it("reuses a buffer once released, not before", () => {
    const encoder = new EvaluateRequestEncoder();
    const a = request(16, true);
    const b = request(16, true);
    const bytesA = encoder.serialize(a);
    const bytesB = encoder.serialize(b);
    expect(bytesB.buffer).not.toBe(bytesA.buffer);
    const copyA = Buffer.from(bytesA);
    encoder.release(a);
    encoder.release(a);
    const c = request(15, true);
    const bytesC = encoder.serialize(c);
    expect(bytesC.buffer).toBe(bytesA.buffer);
    expect(Buffer.compare(bytesC, standard(c))).toBe(0);
    expect(Buffer.compare(bytesB, standard(b))).toBe(0);
    expect(Buffer.compare(copyA, standard(a))).toBe(0);
  });
});
