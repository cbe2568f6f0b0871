/** An Evaluate request off the wire into tasks, as a worker with its own model root decodes it. */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeRequest, EVALUATOR_KINDS } from "../src/worker/request-decoder.js";
import { ModelRoot } from "../src/worker/model-root.js";
import { tempDir } from "./cli.js";
import type { EvaluateRequest__Output } from "../src/grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluatorSpec__Output } from "../src/grpc/generated/sweep/v1/EvaluatorSpec.js";

const wireSpec = (fields: Partial<EvaluatorSpec__Output>): EvaluatorSpec__Output => ({
  kind: "synthetic", shape: [1, 4, 8, 8], latency_ms: 0, jitter_ms: 0, module_path: "", module_sha256: "",
  model: "", height: 0, width: 0, steps: 0, score: "", precision: "", max_batch: 0, reward: "", heldout: [], ...fields,
});

const request = (evaluator: EvaluatorSpec__Output, timeout_ms = 0): EvaluateRequest__Output => ({
  evaluator, prompt: "a cat", prompt_index: 2, timeout_ms, return_image: false, heldout: [],
  candidates: [{ id: 7, random: { seed: 3 } }, { id: 8 }, { id: 9, random: { seed: 4 } }],
});

function root(): ModelRoot {
  const dir = tempDir();
  writeFileSync(path.join(dir, "objective.mjs"), "export default () => 1;");
  mkdirSync(path.join(dir, "golden"));
  return new ModelRoot(dir);
}

describe("decoding an Evaluate request", () => {
  it("gives each candidate a task sharing one evaluator spec, a candidate without a recipe its own error", () => {
    const decoded = decodeRequest(request(wireSpec({ latency_ms: 5 }), 2500), root());
    expect(decoded.timeoutMs).toBe(2500);
    const [a, b, c] = decoded.candidates;
    expect(a).toEqual({ id: 7, task: { evaluator: { kind: "synthetic", shape: [1, 4, 8, 8], latency_ms: 5, jitter_ms: 0 }, prompt: "a cat", promptIndex: 2, recipe: { kind: "random", seed: 3 }, returnImage: false } });
    expect(b).toEqual({ id: 8, error: expect.stringMatching(/^candidate 8 has no recipe this worker knows/), fatal: false });
    expect("task" in a && "task" in c && a.task.evaluator === c.task.evaluator).toBe(true);
  });

  it("decodes zero-order and evolution recipes, and refuses one that cannot be a search's, per candidate", () => {
    const req = request(wireSpec({}));
    req.candidates = [
      { id: 1, zero_order: { pivot_seed: 5, run_seed: 2, threshold: 0.95, rounds: [0, 3], neighbors: [1, 0] } },
      { id: 2, evolution: { seed: 2, initial_count: 1792, member: 4, mutation_rate: 0.2, offsets: [1800, 2700], counts: [512, 512], blocks: [1, 0] } },
      { id: 3, evolution: { seed: 2, initial_count: 1792, member: 4, mutation_rate: 0.2, offsets: [1800, 2000], counts: [512, 512], blocks: [1, 0] } },
      { id: 4, zero_order: { pivot_seed: 5, run_seed: 2, threshold: 1.5, rounds: [0], neighbors: [1] } },
    ];
    const [zo, evo, overlapping, far] = decodeRequest(req, root()).candidates;
    expect("task" in zo && zo.task.recipe).toEqual({ kind: "zero-order", pivotSeed: 5, runSeed: 2, threshold: 0.95, steps: [{ round: 0, neighbor: 1 }, { round: 3, neighbor: 0 }] });
    expect("task" in evo && evo.task.recipe).toEqual({ kind: "evolution", seed: 2, initialCount: 1792, member: 4, mutationRate: 0.2, mutations: [{ offset: 1800, count: 512, block: 1 }, { offset: 2700, count: 512, block: 0 }] });
    expect(overlapping).toEqual({ id: 3, error: "candidate 3: evolution mutation 1 starts at draw 2000, expected 2312 to 4398046511104", fatal: false });
    expect(far).toEqual({ id: 4, error: "candidate 4: zero-order threshold 1.5 is not in (0, 1)", fatal: false });
  });

  it("gives attempts ten minutes when the request sets no deadline", () => {
    expect(decodeRequest(request(wireSpec({})), root()).timeoutMs).toBe(600_000);
  });

  it("refuses every candidate of an evaluator it cannot run, saying which it runs", () => {
    for (const kind of ["elo", "constructor"]) {
      const decoded = decodeRequest(request(wireSpec({ kind })), root());
      expect(decoded.candidates).toEqual([7, 8, 9].map((id) => ({ id, error: `unknown evaluator kind '${kind}' (this worker runs: synthetic, module, noop, flux2-pickscore)`, fatal: false })));
    }
    expect(EVALUATOR_KINDS).toEqual(["synthetic", "module", "noop", "flux2-pickscore"]);
    expect(decodeRequest(request(wireSpec({ shape: [1, 4, 8] })), root()).candidates[0]).toMatchObject({ error: "bad noise shape [1,4,8]" });
  });

  it("resolves a module inside the model root, checks its digest, and refuses one outside for good", () => {
    const modelRoot = root();
    const digest = createHash("sha256").update("export default () => 1;").digest("hex");
    const ok = decodeRequest(request(wireSpec({ kind: "module", module_path: "objective.mjs", module_sha256: digest })), modelRoot).candidates[0];
    expect(ok).toMatchObject({ task: { evaluator: { kind: "module", path: path.join(modelRoot.dir, "objective.mjs"), module_sha256: digest } } });
    const other = decodeRequest(request(wireSpec({ kind: "module", module_path: "objective.mjs", module_sha256: "f".repeat(64) })), modelRoot).candidates[0];
    expect(other).toMatchObject({ error: expect.stringMatching(/differs from the coordinator's \(ffffffffffff\)/), fatal: false });
    const outside = decodeRequest(request(wireSpec({ kind: "module", module_path: "../x.mjs" })), modelRoot).candidates[0];
    expect(outside).toMatchObject({ error: expect.stringMatching(/escapes the model root/), fatal: true });
  });

  it("resolves a flux2-pickscore model folder and checks the noise shape against the image size", () => {
    const modelRoot = root();
    const flux = { kind: "flux2-pickscore", model: "golden", height: 128, width: 64, steps: 4, score: "cosine", precision: "float32", max_batch: 2 };
    const ok = decodeRequest(request(wireSpec({ ...flux, shape: [1, 128, 8, 4] })), modelRoot).candidates[0];
    expect(ok).toMatchObject({ task: { evaluator: { kind: "flux2-pickscore", model_dir: path.join(modelRoot.dir, "golden"), shape: [1, 128, 8, 4] } } });
    const wrong = decodeRequest(request(wireSpec({ ...flux, shape: [1, 128, 4, 8] })), modelRoot).candidates[0];
    expect(wrong).toMatchObject({ error: "noise shape [1,128,4,8] disagrees with 128x64 (expected [1,128,8,4])", fatal: false });
    const missing = decodeRequest(request(wireSpec({ ...flux, model: "nothere", shape: [1, 128, 8, 4] })), modelRoot).candidates[0];
    expect(missing).toMatchObject({ error: expect.stringMatching(/model 'nothere' not found under the model root/), fatal: true });
  });
});
