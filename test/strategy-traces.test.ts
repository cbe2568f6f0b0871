// Zero-order search and evolution against the golden traces of ../shared/reference/strategies/,
// made by running tt-scale-flux's and EvoSearch's own code on objective A: every score in order and
// the candidates' digests through `sweep run` (module evaluator, a worker rebuilding each noise from
// its recipe), the best noises in best/, one neighbour through `sweep noise --run`; and the parts
// with their own test vectors (numpy's generator, the fused multiply-add chain).
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../src/report/load-run.js";
import { NoiseFactory } from "../src/recipes/materialise.js";
import { replayCandidates } from "../src/results/replay.js";
import { NumpyGenerator, seedSequenceState } from "../src/noise/numpy-generator.js";
import { FI, KI, WI, ZIGGURAT_INV_R, ZIGGURAT_R } from "../src/noise/numpy-ziggurat-tables.js";
import { fmaSumOfSquares } from "../src/noise/sphere-neighbour.js";
import { TorchGenerator, torchRandn } from "../src/noise/torch-generator.js";
import { createStrategy } from "../src/strategies/registry.js";
import { freshPivotSeed } from "../src/strategies/zero-order.js";
import { runCli, tempDir } from "./cli.js";
import { digest16, loadReference, repoRoot } from "./reference.js";
import { readCsv, type Row } from "./run-results.js";
import type { NoiseShape } from "../src/domain/candidate.js";

interface TraceCandidate { digest: string; rescore: boolean; round?: number; generation?: number; role: string; index_in_round?: number; index_in_population?: number }
interface Trace {
  seed: number; budget: number; scores: number[]; candidates: TraceCandidate[];
  best_score: number; best_eval_index: number; best_noise_digest: string;
  rounds?: { round: number; pivot_noise_seed: number | null; evals: number[] }[];
}
const zo = loadReference<{ traces: Trace[] }>("strategies/zo_A_default_cached.json").traces;
const zoReference = loadReference<{ traces: Trace[] }>("strategies/zo_A_default.json").traces;
const evo = loadReference<{ traces: Trace[] }>("strategies/evosearch_A_default_cached.json").traces;
const evoReference = loadReference<{ traces: Trace[] }>("strategies/evosearch_A_default.json").traces;

const shape: NoiseShape = [1, 128, 64, 64];
const D = 128 * 64 * 64;

/** A C99 hex float ("0x1.6a33f7d449672p+9"), exactly. */
function hexFloat(s: string): number {
  const m = /^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/.exec(s)!;
  return (m[1] ? -1 : 1) * (Number(m[2]) + parseInt(m[3], 16) / 16 ** m[3].length) * 2 ** Number(m[4]);
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const sha16 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);

describe("numpy's generator (zo-spec.md, section 7)", () => {
  it("has numpy's ziggurat tables", () => {
    const ki = new BigUint64Array(KI.length);
    KI.forEach((v, i) => (ki[i] = BigInt(v)));
    expect(sha16(new Uint8Array(ki.buffer))).toBe("5652957978259315");
    expect(sha16(new Uint8Array(WI.buffer))).toBe("33c6472209e1d09e");
    expect(sha16(new Uint8Array(FI.buffer))).toBe("acd898d9d87e212f");
    expect([KI[0], KI[1], WI[0], FI[255]]).toEqual([0xef33d8025ef6a, 0, hexFloat("0x1.f493b7815d979p-51"), hexFloat("0x1.4a605b6b9f70fp-10")]);
    expect([ZIGGURAT_R, ZIGGURAT_INV_R]).toEqual([hexFloat("0x1.d3bb48209ad33p+1"), hexFloat("0x1.183aa6c20e8c1p-2")]);
  });

  it("seeds PCG64 from SeedSequence([0, 0]) and draws numpy's outputs and normals", () => {
    expect([...seedSequenceState([0, 0], 8)].map((w) => w.toString(16).padStart(8, "0")).join(" "))
      .toBe("b0f478be db2cd7e7 2c71ba49 abf4641a 9d7b8d41 20c6ed6d 223c39d4 2c4099de");
    const g = new NumpyGenerator([0, 0]);
    expect(g.stateBigInt).toEqual({ state: 0x1aa1b5345996452d09585eb7a69561e3n, inc: 0x418ddadb3af71a82588133bc447873a9n });
    expect([g.nextUint64(), g.nextUint64(), g.nextUint64()]).toEqual([0xa30febcfd9c2825fn, 0x4510bdf882d9d721n, 0x0a7d3da94ecde8b8n]);
    const normals = new Float64Array(304);
    new NumpyGenerator([0, 0]).fillStandardNormal(normals);
    expect([...normals.subarray(0, 4)]).toEqual([0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971]);
    expect(normals[74]).toBe(1.8220113633283233); // the first wedge draw
    expect(normals[303]).toBe(-3.772275156122734); // the first tail draw (log1p)
  });
});

describe("the neighbour's norms (zo-spec.md, section 4: seed 0, round 0)", () => {
  it("sums the pivot's squares left to right, and the residual's as an exact FMA chain", () => {
    const pivot = torchRandn(0, D);
    let S = 0;
    for (let i = 0; i < D; i++) S += pivot[i] * pivot[i];
    const a = Math.sqrt(S);
    expect(a).toBe(hexFloat("0x1.6a33f7d449672p+9"));
    // With torch's (OpenBLAS's) d for each neighbour, the chain must give torch's m to the bit;
    // a multiply-then-add sum differs for neighbour 3.
    const d = ["0x1.842cae68a2902p-4", "-0x1.0ff6ecd54c197p-2", "0x1.04316c59c1f56p-2", "-0x1.2d8e8256f275cp-1"].map(hexFloat);
    const m = ["0x1.6a70001db8204p+9", "0x1.6a3abc634f3c1p+9", "0x1.692f13bb710c9p+9", "0x1.6a24ef0364587p+9"].map(hexFloat);
    const g = new NumpyGenerator([0, 0]);
    const v = new Float64Array(D);
    const r = new Float64Array(D);
    const plain: boolean[] = [];
    for (let j = 0; j < 4; j++) {
      g.fillStandardNormal(v);
      for (let i = 0; i < D; i++) r[i] = v[i] - d[j] * (pivot[i] / a);
      expect(Math.sqrt(fmaSumOfSquares(r)), `neighbour ${j}`).toBe(m[j]);
      let sum = 0;
      for (let i = 0; i < D; i++) sum += r[i] * r[i];
      plain.push(Math.sqrt(sum) === m[j]);
    }
    expect(plain).toContain(false);
  });

  it("chains fresh pivot seeds as torch.randint after each fresh noise (f(0) and f(f(0)))", () => {
    expect(freshPivotSeed(0, D)).toBe(1154959034);
    expect(freshPivotSeed(1154959034, D)).toBe(521717167);
  });
});

describe("noise sizes that are not a multiple of 16 (torch's randn takes 16 more draws and redraws its last 16 values)", () => {
  it("evolution's first generation is the blocks of one randn call, member 0 no seed's noise; zero-order's fresh pivots follow the draws", () => {
    const odd: NoiseShape = [1, 3, 5, 7];
    const n = 105;
    const search = createStrategy({ name: "evolution", label: "e", popsize: [4, 3], elites: 1, mutation_rate: 0.2 }, { seed: 9, budget: 4, shape: odd });
    const members = search.ask(10);
    const whole = new TorchGenerator(9).randn(4 * n);
    const factory = new NoiseFactory();
    expect(members.map((c) => c.noiseSeed)).toEqual([null, null, null, null]);
    members.forEach((c, i) => expect([...factory.materialise(c.recipe, odd)], `member ${i}`).toEqual([...whole.subarray(i * n, (i + 1) * n)]));
    expect([...whole.subarray(0, n)]).not.toEqual([...torchRandn(9, n)]);
    const g = new TorchGenerator(9);
    g.randn(n);
    expect(freshPivotSeed(9, n)).toBe(g.u32() % 2147483647);
  });
});

describe("through sweep run, objective A as a module, seeds 0-2, budget 50", () => {
  let dir: string;
  let rows: Row[];
  beforeAll(async () => {
    dir = tempDir();
    copyFileSync(path.join(repoRoot, "test/fixtures/objective-a.mjs"), path.join(dir, "objective-a.mjs"));
    writeFileSync(path.join(dir, "sweep.yaml"), `name: traces
prompts: ["objective A"]
seeds: [0, 1, 2]
budgets: [50]
strategies:
  - { name: zero-order, threshold: 0.95, neighbors: 4 }
  - { name: evolution, popsize: [14, 7], elites: 3, mutation_rate: 0.2 }
evaluator: { kind: module, path: ./objective-a.mjs, shape: [1, 128, 64, 64] }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir, timeoutMs: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    rows = readCsv(path.join(dir, "run"), "evaluations.csv");
  }, 600_000);

  const searches = [
    { strategy: "zero-order", cached: zo, reference: zoReference, firstEvals: 9 },
    { strategy: "evolution", cached: evo, reference: evoReference, firstEvals: 18 },
  ];

  for (const { strategy, cached, reference, firstEvals } of searches) {
    it(`${strategy}: every score of the cached traces in order, and the references' own traces with their re-scores dropped`, () => {
      for (const [k, t] of cached.entries()) {
        const got = rows.filter((r) => r.search_id === `p0/${strategy}/s${t.seed}`).sort((a, b) => Number(a.eval_index) - Number(b.eval_index));
        expect(got.map((r) => Number(r.eval_index))).toEqual(t.scores.map((_, i) => i));
        got.forEach((r, i) => expect(relDiff(Number(r.score), t.scores[i]), `seed ${t.seed} eval ${i}`).toBeLessThan(1e-9));
        // generation: the round or generation; noise_seed: only for a seed's noise (the base noise, a fresh pivot)
        got.forEach((r, i) => expect(Number(r.generation), `seed ${t.seed} eval ${i}`).toBe(t.candidates[i].round ?? t.candidates[i].generation));
        const seedOf = (c: TraceCandidate, i: number) => strategy === "evolution" ? (i === 0 ? t.seed : null) : c.role === "pivot" ? t.rounds![c.round!].pivot_noise_seed : null;
        expect(got.map((r) => (r.noise_seed === "" ? null : Number(r.noise_seed)))).toEqual(t.candidates.map(seedOf));
        expect(got.filter((r) => r.noise_seed !== "").length).toBeGreaterThan(0);
        const own = reference[k];
        expect(own.seed).toBe(t.seed);
        const kept = own.scores.filter((_, i) => !own.candidates[i].rescore);
        expect(kept.length).toBeLessThan(t.scores.length);
        kept.forEach((s, i) => expect(relDiff(Number(got[i].score), s), `seed ${t.seed} eval ${i} (reference counting)`).toBeLessThan(1e-9));
      }
    });

    it(`${strategy}: the candidates of the first rounds or generations are the traces' noises, rebuilt from the run folder`, async () => {
      const run = await loadRun(path.join(dir, "run"), { records: true });
      const factory = new NoiseFactory();
      for (const t of cached) {
        const search = run.plan.searches.find((s) => s.searchId === `p0/${strategy}/s${t.seed}`)!;
        const wanted = Array.from({ length: firstEvals }, (_, i) => i);
        const candidates = replayCandidates(search, run.searches!.get(search.searchId)!, shape, wanted);
        for (const i of wanted) expect(digest16(factory.materialise(candidates.get(i)!.recipe, shape)), `seed ${t.seed} eval ${i}`).toBe(t.candidates[i].digest);
      }
    });
  }

  it("sweep noise --best writes each trial's best noise, a neighbour or a child: the traces' best noises", async () => {
    const r = await runCli(["noise", "--run", "run", "--best", "--out-dir", "best"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const index = readCsv(path.join(dir, "best"), "index.csv");
    for (const [strategy, traces] of [["zero-order", zo], ["evolution", evo]] as const) {
      for (const t of traces) {
        const row = index.find((x) => x.strategy === strategy && x.seed === String(t.seed))!;
        expect(Number(row.best_eval_index)).toBe(t.best_eval_index);
        expect(row.best_noise_seed).toBe("");
        const bytes = readFileSync(path.join(dir, row.noise));
        const body = bytes.subarray(10 + bytes.readUInt16LE(8));
        expect(sha16(body), `${strategy} seed ${t.seed}`).toBe(t.best_noise_digest);
      }
    }
  });

  it("sweep noise --run writes a neighbour's noise (no seed of its own)", async () => {
    const t = zo[0];
    const r = await runCli(["noise", "--run", "run", "--search", "p0/zero-order/s0", "--eval", "1", "--out", "n1.npy"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/p0\/zero-order\/s0 eval 1 \(noise_seed none, score 0\.61349/);
    const bytes = readFileSync(path.join(dir, "n1.npy"));
    expect(sha16(bytes.subarray(10 + bytes.readUInt16LE(8)))).toBe(t.candidates[1].digest);
  });
});
