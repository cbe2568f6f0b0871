// Each strategy module owns its options; config, the manifest and the search runner reach them
// only through the registry.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadSweep } from "../src/config/load.js";
import { recipeScore } from "../src/evaluators/noop.js";
import { readRunManifest, writeManifest, type Manifest } from "../src/results/manifest.js";
import { createStrategy, STRATEGIES } from "../src/strategies/registry.js";
import { ses } from "../src/strategies/ses.js";
import type { Candidate, NoiseShape } from "../src/domain/candidate.js";
import type { StrategySpec, Sweep } from "../src/domain/sweep.js";
import { tempDir } from "./cli.js";

function sweepFile(strategies: string, shape = "[1, 16, 32, 32]"): string {
  const file = path.join(tempDir(), "sweep.yaml");
  writeFileSync(file, `name: t
prompts: ["a cat"]
seeds: [0]
budgets: [10]
strategies:
${strategies}
evaluator: { kind: synthetic, shape: ${shape} }
`);
  return file;
}

async function configProblems(file: string): Promise<string> {
  try {
    await loadSweep(file);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the sweep loaded");
}

describe("a strategy's options, through config", () => {
  it("every registered strategy's entry gets its module's defaults, flat beside name and label", async () => {
    const sweep = await loadSweep(sweepFile(STRATEGIES.map((s) => `  - name: ${s.name}`).join("\n")));
    expect(sweep.strategies).toEqual(STRATEGIES.map((s) => ({ name: s.name, label: s.name, ...s.options.parse({}) })));
    expect(sweep.strategies.find((s) => s.name === "ses")).toEqual({ name: "ses", label: "ses", popsize: 10, elites: 5, wavelet: "db1", level: 4 });
  });

  it("validates an option with the module's own schema, at file:line:col", async () => {
    const file = sweepFile("  - name: ses\n    popsize: 0");
    expect(ses.options.shape.popsize.safeParse(0).success).toBe(false);
    expect(await configProblems(file)).toMatch(/sweep\.yaml:7:5: strategies\.0\.popsize: .*>=1.*\(got 0\)/);
  });

  it("names an unknown option at file:line:col, with the closest known one", async () => {
    const file = sweepFile("  - name: random\n  - name: ses\n    elite: 3");
    expect(await configProblems(file)).toMatch(/sweep\.yaml:8:5: strategies\.1\.elite: unknown field; did you mean 'elites'\?/);
  });

  it("reports the module's checks against the noise shape at the option concerned", async () => {
    const deep = sweepFile("  - name: ses\n    level: 6");
    expect(await configProblems(deep)).toMatch(/sweep\.yaml:7:5: strategies\.0\.level: level 6 is deeper than db1 allows on a 32x32 noise \(at most 5\)/);
    const big = sweepFile("  - name: ses\n    popsize: 100000\n    level: 1", "[1, 128, 64, 64]");
    expect(await configProblems(big)).toMatch(/sweep\.yaml:7:5: strategies\.0\.popsize: popsize 100000 x 131072 low-band values is 50000 MiB a generation.*at most 256 MiB \(popsize 512 here\)/);
  });
});

describe("zero-order and evolution options", () => {
  it("refuses values out of range at file:line:col, saying what was expected", async () => {
    expect(await configProblems(sweepFile("  - name: zero-order\n    threshold: 1"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.threshold: .*<1.*\(got 1\)/);
    expect(await configProblems(sweepFile("  - name: zero-order\n    neighbors: 0"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.neighbors: .*>=1.*\(got 0\)/);
    expect(await configProblems(sweepFile("  - name: evolution\n    mutation_rate: 0"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.mutation_rate: .*>0.*\(got 0\)/);
    expect(await configProblems(sweepFile("  - name: evolution\n    popsize: [4, 6]\n    elites: 5"))).toMatch(/sweep\.yaml:8:5: strategies\.0\.elites: elites 5 is more than the first population \(4\)/);
    expect(await configProblems(sweepFile("  - name: evolution\n    popsize: [14, 3]"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.popsize: population 1 \(3\) must be larger than elites \(3\)/);
    expect(await configProblems(sweepFile("  - name: evolution\n    popsize: 3"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.popsize: population 3 must be larger than elites \(3\)/);
    expect(await configProblems(sweepFile("  - name: evolution\n    popsize: [1, 2]\n    elites: 1"))).toMatch(/sweep\.yaml:7:5: strategies\.0\.popsize: population 0 \(1\) makes children, which needs at least 2 members/);
  });

  it("take a population schedule or one size, and budgets below one round or generation", async () => {
    const sweep = await loadSweep(sweepFile("  - { name: evolution, popsize: 6, elites: 2 }\n  - { name: zero-order, neighbors: 12 }"));
    expect(sweep.strategies).toEqual([
      { name: "evolution", label: "evolution", popsize: 6, elites: 2, mutation_rate: 0.2 },
      { name: "zero-order", label: "zero-order", threshold: 0.95, neighbors: 12 },
    ]);
    for (const spec of sweep.strategies) expect(run(spec, 3, [1, 16, 32, 32]).map((c) => c.evalIndex)).toEqual([0, 1, 2]);
  });
});

describe("a strategy's options, through manifest.json", () => {
  async function manifestWith(edit: (strategy: Record<string, unknown>) => void): Promise<string> {
    const config: Sweep = await loadSweep(sweepFile("  - name: random\n  - name: ses"));
    const runDir = tempDir();
    writeManifest(runDir, { tool: "sweep", version: "0", run_id: "r", name: "t", status: "completed", config_file: config.source.file, overrides: [], fingerprint: config.fingerprint, config } as unknown as Manifest);
    const file = path.join(runDir, "manifest.json");
    const data = JSON.parse(readFileSync(file, "utf8"));
    Object.assign(data, { started_at: "", finished_at: null, duration_s: null, executor: { kind: "grpc", workers: [] }, host: { node: "", platform: "", cpus: 1 }, plan: { searches: 2, trials: 2, evaluations: 20 }, counts: { evaluations: 20, errors: 0 }, failed_searches: [] });
    edit(data.config.strategies[1]);
    writeFileSync(file, JSON.stringify(data));
    try {
      expect(readRunManifest(runDir).config.strategies[1]).toEqual({ name: "ses", label: "ses", popsize: 10, elites: 5, wavelet: "db1", level: 4 });
      return "";
    } catch (e) {
      return (e as Error).message;
    }
  }

  it("reads a recorded entry back as written", async () => {
    expect(await manifestWith(() => {})).toBe("");
  });

  it("refuses a recorded entry whose option is missing or is not what the module's schema takes", async () => {
    expect(await manifestWith((s) => delete s.popsize)).toMatch(/manifest\.json: config\.strategies\.1\.popsize: /);
    expect(await manifestWith((s) => { s.wavelet = "db99"; })).toMatch(/manifest\.json: config\.strategies\.1\.wavelet: /);
  });
});

/** Asks and tells until the budget is asked, scores from the recipe (deterministic), as a search runner does. */
function run(spec: StrategySpec, budget: number, shape: NoiseShape, seed = 3): Candidate[] {
  const strategy = createStrategy(spec, { seed, budget, shape });
  const asked: Candidate[] = [];
  while (!strategy.exhausted) {
    const batch = strategy.ask(4);
    expect(batch.length).toBeGreaterThan(0);
    asked.push(...batch);
    for (const c of batch) strategy.tell(c.evalIndex, recipeScore(c.recipe, 0));
  }
  return asked;
}

describe("zero-order and evolution at their defaults", () => {
  it("are anytime: budgets 23 and 50 are prefixes of a budget-130 search, seeds 0-2", async () => {
    const shape: NoiseShape = [1, 16, 32, 32];
    const sweep = await loadSweep(sweepFile("  - name: zero-order\n  - name: evolution"));
    for (const spec of sweep.strategies) {
      for (const seed of [0, 1, 2]) {
        const long = run(spec, 130, shape, seed);
        expect(new Set(long.map((c) => c.generation)).size, spec.name).toBeGreaterThan(10);
        for (const budget of [23, 50]) expect(run(spec, budget, shape, seed), `${spec.name} seed ${seed} budget ${budget}`).toEqual(long.slice(0, budget));
      }
    }
  });
});

describe("every registered strategy", () => {
  it("is anytime: budget B asks exactly the first B candidates of a larger budget", async () => {
    const shape: NoiseShape = [1, 4, 16, 16];
    const sweep = await loadSweep(sweepFile(STRATEGIES.map((s) => `  - name: ${s.name}`).join("\n").concat("\n  - { name: ses, label: ses-small, popsize: 3, elites: 2, level: 2 }"), `[${shape.join(", ")}]`));
    for (const spec of sweep.strategies) {
      const long = run(spec, 23, shape);
      expect(long.map((c) => c.evalIndex)).toEqual(Array.from({ length: 23 }, (_, i) => i));
      for (const budget of [1, 7, 10]) expect(run(spec, budget, shape), `${spec.label} at budget ${budget}`).toEqual(long.slice(0, budget));
    }
  });
});
