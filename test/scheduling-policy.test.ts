// The coordinator's scheduling policy (pure functions) and the batch queue it takes batches from.
import { describe, expect, it } from "vitest";
import {
  concurrentSearches, evaluatorBatch, linksToFill, linkWindow, MAX_DEPTH, MIN_DEPTH, refillMark, sameBatch, searchWindow,
} from "../src/coordinator/scheduling/policy.js";
import { BatchQueue } from "../src/util/batch-queue.js";
import type { EvaluationTask } from "../src/domain/outcome.js";
import type { EvaluatorSpec } from "../src/domain/sweep.js";

describe("a worker's window", () => {
  it("is MIN_DEPTH per slot until a latency is known, and for costly evaluations", () => {
    expect(linkWindow(4, NaN)).toBe(4 * MIN_DEPTH);
    expect(linkWindow(4, 300)).toBe(4 * MIN_DEPTH);
    expect(linkWindow(0, NaN)).toBe(0);
  });

  it("holds about 10 ms of work per slot for cheap evaluations, at most MAX_DEPTH per slot", () => {
    expect(linkWindow(2, 1)).toBe(2 * 10);
    expect(linkWindow(2, 0.3)).toBe(2 * 34);
    expect(linkWindow(3, 0.001)).toBe(3 * MAX_DEPTH);
    expect(linkWindow(3, 0)).toBe(3 * MAX_DEPTH);
  });

  it("holds MIN_DEPTH whole padded batches per slot for a batching evaluator, so no batch runs part empty", () => {
    const flux2 = { kind: "flux2-pickscore", shape: [1, 128, 64, 64], model: "m", height: 1024, width: 1024, steps: 4, score: "cosine", precision: "bfloat16", max_batch: 4 } as const;
    expect(evaluatorBatch(flux2)).toBe(4);
    expect(evaluatorBatch({ kind: "noop", shape: [1, 4, 8, 8] })).toBe(1);
    expect(linkWindow(1, NaN, 4)).toBe(MIN_DEPTH * 4);
    expect(linkWindow(2, 400, 4)).toBe(2 * MIN_DEPTH * 4);
    expect(linkWindow(2, 1, 1)).toBe(linkWindow(2, 1));
  });

  it("is refilled once a quarter of it is free, one at a time when shallow", () => {
    expect(refillMark(64)).toBe(16);
    expect(refillMark(8)).toBe(2);
    expect(refillMark(3)).toBe(1);
    expect(refillMark(0)).toBe(1);
  });
});

describe("which worker gets what", () => {
  const link = (name: string, free: number, refillAt: number) => ({ name, free, refillAt });

  it("fills the links with room for a batch, most free room first", () => {
    const links = [link("a", 3, 4), link("b", 8, 4), link("c", 4, 4), link("d", 0, 1)];
    expect(linksToFill(links, 100).map((l) => l.name)).toEqual(["b", "c"]);
  });

  it("a short queue goes to a link below its mark that can take all of it", () => {
    const links = [link("a", 3, 4), link("b", 1, 4)];
    expect(linksToFill(links, 2).map((l) => l.name)).toEqual(["a"]);
    expect(linksToFill(links, 1).map((l) => l.name)).toEqual(["a", "b"]);
  });

  it("no link without free room, whatever is queued", () => {
    expect(linksToFill([link("a", 0, 1)], 1)).toEqual([]);
  });
});

describe("batches", () => {
  const a: EvaluatorSpec = { kind: "noop", shape: [1, 4, 8, 8] };
  const b: EvaluatorSpec = { kind: "noop", shape: [1, 4, 8, 8] };
  const task = (promptIndex: number, evaluator = a, returnImage?: boolean): EvaluationTask => ({
    evaluator, prompt: `p${promptIndex}`, promptIndex, recipe: { kind: "random", seed: 0 }, ...(returnImage ? { returnImage } : {}),
  });

  it("group the same prompt, evaluator and image request", () => {
    expect(sameBatch(task(1), task(1))).toBe(true);
    expect(sameBatch(task(1), task(2))).toBe(false);
    expect(sameBatch(task(1), task(1, b))).toBe(false);
    expect(sameBatch(task(1), task(1, a, true))).toBe(false);
    expect(sameBatch(task(1, a, false), task(1))).toBe(true);
  });

  it("are taken from the queue by prompt, the rest keeping its order", () => {
    const q = new BatchQueue<EvaluationTask & { n: number }>();
    const prompts = [1, 2, 1, 3, 1, 2, 1];
    prompts.forEach((p, n) => q.push({ ...task(p), n }));
    const fits = (h: EvaluationTask, t: EvaluationTask) => sameBatch(h, t);
    expect(q.take(3, fits).map((t) => t.n)).toEqual([0, 2, 4]);
    expect(q.take(8, fits).map((t) => t.n)).toEqual([1, 5]);
    expect(q.take(8, fits).map((t) => t.n)).toEqual([3]);
    expect(q.take(8, fits).map((t) => t.n)).toEqual([6]);
    expect(q.length).toBe(0);
    expect(q.take(8, fits)).toEqual([]);
  });
});

describe("the batch queue", () => {
  const even = (h: number, x: number) => h % 2 === x % 2;

  it("takes contiguous runs when asked to", () => {
    const q = new BatchQueue<number>();
    for (const n of [2, 4, 5, 6, 8]) q.push(n);
    expect(q.take(8, even, true)).toEqual([2, 4]);
    expect(q.take(8, even, true)).toEqual([5]);
    expect(q.take(1, even, true)).toEqual([6]);
    expect(q.drain()).toEqual([8]);
  });

  it("puts work back at the front in its order, and lets abandoned work leave from anywhere", () => {
    const q = new BatchQueue<number>();
    for (const n of [1, 2, 3, 4]) q.push(n);
    expect(q.remove(3)).toBe(true);
    expect(q.remove(3)).toBe(false);
    q.requeue([7, 8]);
    expect(q.peek()).toBe(7);
    expect(q.length).toBe(5);
    expect(q.drain()).toEqual([7, 8, 1, 2, 4]);
  });

  it("takes nothing with a limit below one", () => {
    const q = new BatchQueue<number>();
    q.push(1);
    expect(q.take(0, even)).toEqual([]);
    expect(q.length).toBe(1);
  });
});

describe("searches", () => {
  it("run at least 32 at once, four per slot beyond", () => {
    expect(concurrentSearches(0)).toBe(32);
    expect(concurrentSearches(16)).toBe(64);
  });

  it("together hold twice what the workers want in flight, at least a slot's worth each", () => {
    expect(searchWindow(8, 128, 4)).toBe(64);
    expect(searchWindow(8, 16, 32)).toBe(8);
    expect(searchWindow(2, 10, 0)).toBe(20);
  });
});
