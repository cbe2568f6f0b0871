// Figure 2: protobuf bytes per evaluation on the Evaluate stream (both directions, with gRPC's
// 5-byte message framing), counted by the coordinator as it sends and receives.
import { runSweep } from "./lib.mjs";

async function bytesPerEvaluation(strategy) {
  const yaml = `name: wire
prompts: ["a", "b"]
seeds: [0, 1, 2, 3]
budgets: [100]
strategies: [${strategy}]
evaluator: { kind: noop, shape: [1, 128, 64, 64] }
`;
  const { manifest } = await runSweep(yaml, ["--threads", "2"], { env: { SWEEP_MEASURE_WIRE: "1" } });
  const w = manifest.executor.wire;
  return { request: w.request_bytes / w.candidates, response: w.response_bytes / w.candidates, total: (w.request_bytes + w.response_bytes) / w.candidates };
}

export async function wireBench() {
  return {
    random: await bytesPerEvaluation("{ name: random }"),
    ses: await bytesPerEvaluation("{ name: ses }"),
    zeroOrder: await bytesPerEvaluation("{ name: zero-order }"),
    evolution: await bytesPerEvaluation("{ name: evolution }"),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await wireBench());
