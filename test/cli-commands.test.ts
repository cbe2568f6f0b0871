import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sweepJsonSchema } from "../src/config/write-json-schema.js";
import { runCli, tempDir } from "./cli.js";
import { digest16, loadReference, repoRoot } from "./reference.js";
import { readCsv } from "./run-results.js";

/** Minimal .npy reader (format 1.0, little-endian float32), independent of the writer. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(file);
  expect(buf.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
  const headerLength = buf.readUInt16LE(8);
  expect((10 + headerLength) % 64).toBe(0);
  const header = buf.subarray(10, 10 + headerLength).toString("latin1");
  expect(header).toMatch(/'descr': '<f4'/);
  expect(header).toMatch(/'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(10 + headerLength);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { shape, data };
}

describe("sweep noise", () => {
  const gold = loadReference<{ cases: { seed: number; shape?: number[]; sha256_16: string }[] }>("torch_randn.json");

  it("writes torch.randn noise as .npy, bit-exact with the reference", async () => {
    const dir = tempDir();
    await Promise.all(gold.cases.filter((x) => x.shape && x.shape.length === 4).map(async (c) => {
      const out = path.join(dir, `n${c.seed}.npy`);
      const r = await runCli(["noise", "--seed", String(c.seed), "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      const npy = readNpy(out);
      expect(npy.shape).toEqual(c.shape);
      expect(digest16(npy.data), `seed ${c.seed}`).toBe(c.sha256_16);
    }));
    const one = gold.cases.find((x) => x.seed === 42 && x.shape?.length === 1 && x.shape[0] === 17)!;
    const out = path.join(dir, "small.npy");
    expect((await runCli(["noise", "--seed", "42", "--shape", "17", "--out", out])).code).toBe(0);
    expect(readNpy(out).shape).toEqual([17]);
    expect(digest16(readNpy(out).data)).toBe(one.sha256_16);
  });

  it("draws bfloat16 noise as torch >= 2.13 does: torch's own values (torch_randn_bf16.json)", async () => {
    const bf16 = loadReference<{ cases: { seed: number; shape: number[]; sha256_16: string; first4: number[] }[] }>("torch_randn_bf16.json");
    const dir = tempDir();
    expect(bf16.cases.length).toBeGreaterThan(0);
    await Promise.all(bf16.cases.map(async (c, i) => {
      const out = path.join(dir, `b${i}.npy`);
      const r = await runCli(["noise", "--seed", String(c.seed), "--shape", c.shape.join(","), "--dtype", "bfloat16", "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      const npy = readNpy(out);
      expect(npy.shape).toEqual(c.shape);
      expect([...npy.data.subarray(0, 4)], `seed ${c.seed} shape ${c.shape}`).toEqual(c.first4);
      expect(digest16(npy.data), `seed ${c.seed} shape ${c.shape}`).toBe(c.sha256_16);
    }));
  });

  it("rejects a bad seed or shape with exit code 2", async () => {
    const dir = tempDir();
    expect((await runCli(["noise", "--seed", "-1", "--out", path.join(dir, "x.npy")])).code).toBe(2);
    const r = await runCli(["noise", "--seed", "1", "--shape", "1,0,4", "--out", path.join(dir, "x.npy")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shape: expected positive integers/);
  });
});

describe("sweep plan", () => {
  it("counts trials, searches and evaluations of the quick start, and what sharing saves", async () => {
    const r = await runCli(["plan", "configs/quickstart.yaml"]);
    expect(r.code, r.stderr).toBe(0);
    const prompts = (readFileSync(path.join(repoRoot, "configs/quickstart.yaml"), "utf8").match(/^prompts:\n((?:  - .*\n)+)/m)![1].match(/  - /g) ?? []).length;
    const seeds = JSON.parse(/^seeds: (\[.*\])/m.exec(readFileSync(path.join(repoRoot, "configs/quickstart.yaml"), "utf8"))![1]).length;
    const searches = prompts * 2 * seeds;
    expect(r.stdout).toContain(`total: ${searches * 3} trials, ${searches} searches, ${searches * 50} evaluations`);
    expect(r.stdout).toContain(`saves ${searches * 30} of ${searches * 80} evaluations`);
  });

  it("applies --set overrides to any field, a strategy's popsize too", async () => {
    const fingerprint = (stdout: string) => /^fingerprint: ([0-9a-f]{64})$/m.exec(stdout)![1];
    const r = await runCli(["plan", "configs/quickstart.yaml", "--set", "budgets=[10,20]", "--set", "strategies.1.popsize=20", "--set", "seeds=[5]"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/x 1 seeds x 2 budgets \[10, 20\]/);
    expect(r.stdout).toContain("total: 16 trials, 8 searches, 160 evaluations");
    // The popsize changes no count, but what the scores depend on: the fingerprint is that of the
    // same sweep written with popsize 20, not that of the sweep without the override.
    const dir = tempDir();
    const text = readFileSync(path.join(repoRoot, "configs/quickstart.yaml"), "utf8");
    const edited = text.replace("popsize: 10", "popsize: 20").replace(/^seeds: .*$/m, "seeds: [5]").replace(/^budgets: .*$/m, "budgets: [10, 20]");
    expect(edited).not.toBe(text);
    writeFileSync(path.join(dir, "sweep.yaml"), edited);
    const written = await runCli(["plan", path.join(dir, "sweep.yaml")]);
    const without = await runCli(["plan", "configs/quickstart.yaml", "--set", "budgets=[10,20]", "--set", "seeds=[5]"]);
    expect(written.code, written.stderr).toBe(0);
    expect(without.code, without.stderr).toBe(0);
    expect(fingerprint(r.stdout)).toBe(fingerprint(written.stdout));
    expect(fingerprint(r.stdout)).not.toBe(fingerprint(without.stdout));
  });
});

describe("JSON Schema of the config", () => {
  it("is committed in configs/ exactly as generated from the schema, and referenced by the examples", () => {
    expect(readFileSync(path.join(repoRoot, "configs/sweep.schema.json"), "utf8")).toBe(sweepJsonSchema());
    for (const example of ["quickstart.yaml", "ses_vs_random.yaml", "tiny-flux2.yaml", "strategies.yaml", "strategies-quick.yaml", "tiny-flux2-heldout.yaml"]) {
      expect(readFileSync(path.join(repoRoot, "configs", example), "utf8")).toMatch(/^# yaml-language-server: \$schema=\.\/sweep\.schema\.json/);
    }
  });

  it("accepts every example config", async () => {
    await Promise.all(["quickstart.yaml", "ses_vs_random.yaml", "tiny-flux2.yaml", "strategies.yaml", "strategies-quick.yaml", "tiny-flux2-heldout.yaml"].map(async (example) => {
      const r = await runCli(["plan", `configs/${example}`]);
      expect(r.code, `${example}: ${r.stderr}`).toBe(0);
    }));
  });
});

describe("configs/strategies-quick.yaml: every strategy in one sweep and its report", () => {
  it("runs, and the report compares every strategy with whichever is the baseline", async () => {
    const dir = tempDir();
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", "configs/strategies-quick.yaml", "--run-dir", runDir, "--threads", "2"], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const strategies = ["random", "ses", "zero-order", "evolution"];
    expect(new Set(readCsv(runDir, "trials.csv").map((t) => t.strategy))).toEqual(new Set(strategies));
    const rep = await runCli(["report", runDir, "--baseline", "evolution", "--format", "json", "--out", path.join(dir, "rep"), "--resamples", "200"]);
    expect(rep.code, rep.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(dir, "rep", "report.json"), "utf8"));
    expect(report.baseline).toBe("evolution");
    expect(new Set(report.tables.map((t: { strategy: string }) => t.strategy))).toEqual(new Set(strategies));
    expect(new Set(report.comparisons.map((c: { strategy: string; budget: number }) => `${c.strategy}@${c.budget}`)))
      .toEqual(new Set(["random", "ses", "zero-order"].flatMap((s) => [10, 20, 50].map((b) => `${s}@${b}`))));
    expect(new Set(report.curves.map((c: { strategy: string }) => c.strategy))).toEqual(new Set(strategies));
  }, 300_000);
});

describe("SES through the whole CLI path (module evaluator, worker threads, CSV)", () => {
  it("records the reference's scores of ses_traces_A.json for both seeds", async () => {
    const { traces } = loadReference<{ traces: { seed: number; scores: number[] }[] }>("ses_traces_A.json");
    const dir = tempDir();
    copyFileSync(path.join(repoRoot, "test/fixtures/objective-a.mjs"), path.join(dir, "objective-a.mjs"));
    writeFileSync(path.join(dir, "sweep.yaml"), `name: trace-a
prompts: ["objective A"]
seeds: [${traces.map((t) => t.seed).join(", ")}]
budgets: [50]
strategies: [{ name: ses, popsize: 10, elites: 5, wavelet: db1, level: 4 }]
evaluator: { kind: module, path: ./objective-a.mjs, shape: [1, 128, 64, 64] }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(path.join(dir, "run"), "evaluations.csv");
    for (const t of traces) {
      const got = rows.filter((x) => x.seed === String(t.seed)).sort((a, b) => +a.eval_index - +b.eval_index).map((x) => Number(x.score));
      expect(got.length).toBe(t.scores.length);
      got.forEach((s, i) => expect(Math.abs(s - t.scores[i]) / Math.abs(t.scores[i]), `seed ${t.seed} eval ${i}`).toBeLessThan(1e-9));
    }
  });
});
