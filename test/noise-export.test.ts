import { copyFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { torchRandn } from "../src/noise/torch-generator.js";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { digest16, loadReference, repoRoot } from "./reference.js";
import { readCsv } from "./run-results.js";

interface Trace { seed: number; best_score: number; best_noise_digest: string }
const { traces } = loadReference<{ traces: Trace[] }>("ses_traces_A.json");
const randn = loadReference<{ cases: { seed: number; shape?: number[]; sha256_16: string }[] }>("torch_randn.json");

/** The float32 data of a .npy file and its shape. */
function readNpy(file: string): { data: Float32Array; shape: number[] } {
  const bytes = readFileSync(file);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString("latin1");
  expect(header).toContain("'descr': '<f4'");
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = bytes.subarray(10 + headerLength);
  return { data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), shape };
}

describe("sweep noise --run: the noise of recorded candidates", () => {
  let dir: string;
  beforeAll(async () => {
    // SES on the reference's objective A for both traced seeds, plus random search on seed 42.
    dir = tempDir();
    copyFileSync(path.join(repoRoot, "test/fixtures/objective-a.mjs"), path.join(dir, "objective-a.mjs"));
    writeFileSync(path.join(dir, "sweep.yaml"), `name: export
prompts: ["objective A"]
seeds: [${traces.map((t) => t.seed).join(", ")}, 42]
budgets: [20, 50]
strategies: [{ name: ses, popsize: 10, elites: 5, wavelet: db1, level: 4 }, { name: random }]
evaluator: { kind: module, path: ./objective-a.mjs, shape: [1, 128, 64, 64] }
`);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "2"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it("rebuilds every trial's best noise, SES ones by replaying the search: the reference's best noises", async () => {
    const r = await runCli(["noise", "--run", "run", "--best", "--out-dir", "best"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const index = readCsv(path.join(dir, "best"), "index.csv");
    expect(index).toHaveLength(3 * 2);
    for (const t of traces) {
      const row = index.find((x) => x.strategy === "ses" && x.seed === String(t.seed))!;
      // index.csv as a run's best/index.csv: paths relative to the folder above it
      expect(row.noise).toBe(`best/p0_ses_s${t.seed}_e${row.best_eval_index}.npy`);
      expect(row.image).toBe("");
      expect(Math.abs(Number(row.best_score) - t.best_score) / t.best_score).toBeLessThan(1e-9);
      const npy = readNpy(path.join(dir, row.noise));
      expect(npy.shape).toEqual([1, 128, 64, 64]);
      expect(digest16(npy.data)).toBe(t.best_noise_digest);
    }
    // Random search: the best candidate's noise is torch.randn of its recorded noise_seed.
    const trials = readCsv(path.join(dir, "run"), "trials.csv").filter((x) => x.strategy === "random" && x.budget === "50");
    for (const t of trials) {
      const row = index.find((x) => x.strategy === "random" && x.seed === t.seed)!;
      expect(row.best_noise_seed).toBe(t.best_noise_seed);
      expect(row.best_eval_index).toBe(t.best_eval_index);
      const npy = readNpy(path.join(dir, row.noise));
      expect(digest16(npy.data)).toBe(digest16(torchRandn(Number(t.best_noise_seed), 128 * 64 * 64)));
    }
  });

  it("writes one recorded candidate: eval 0 of a random search is the base noise, torch.randn(seed)", async () => {
    const r = await runCli(["noise", "--run", "run", "--search", "p0/random/s42", "--eval", "0", "--out", "base.npy"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/p0\/random\/s42 eval 0 \(noise_seed 42, score -?\d/);
    const want = randn.cases.find((c) => c.seed === 42 && c.shape?.join() === "1,128,64,64")!;
    expect(digest16(readNpy(path.join(dir, "base.npy")).data)).toBe(want.sha256_16);
  });

  it("says what is wrong with a bad request, exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--run", "run", "--search", "p0/ses/s9", "--eval", "0", "--out", "x.npy"], /no search 'p0\/ses\/s9' \(search ids look like p0\/ses\/s0/],
      [["--run", "run", "--search", "p0/ses/s0", "--eval", "50", "--out", "x.npy"], /--eval: expected an eval_index from 0 to 49 \(got 50\)/],
      [["--run", "run", "--best", "--budget", "30", "--out-dir", "b"], /--budget: this run's budgets are 20, 50 \(got 30\)/],
      [["--run", "run", "--search", "p0/ses/s0"], /--run needs --search ID --eval N --out FILE\.npy, or --best --out-dir FOLDER/],
      [["--seed", "1", "--run", "run", "--out", "x.npy"], /give --seed \(a fresh noise\) or --run/],
      [["--run", "nowhere", "--best", "--out-dir", "b"], /nowhere is not a run folder/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["noise", ...args], { cwd: dir });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("cannot rebuild a candidate its search never got to tell (a gap in the record), and says why", async () => {
    cpSync(path.join(dir, "run"), path.join(dir, "gap"), { recursive: true });
    const csv = path.join(dir, "gap", "evaluations.csv");
    const lines = readFileSync(csv, "utf8").split("\n");
    const seed = traces[0].seed;
    writeFileSync(csv, lines.filter((l) => !(l.includes(`p0/ses/s${seed},`) && Number(l.split(",")[7]) >= 13)).join("\n"));
    const r = await runCli(["noise", "--run", "gap", "--search", `p0/ses/s${seed}`, "--eval", "30", "--out", "x.npy"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`p0/ses/s${seed}: cannot rebuild eval 30: the search has 13 recorded successful evaluations in a row (eval 13 is not recorded)`);
    // Eval 12 was told everything before it: still fine.
    const ok = await runCli(["noise", "--run", "gap", "--search", `p0/ses/s${seed}`, "--eval", "12", "--out", "y.npy"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
