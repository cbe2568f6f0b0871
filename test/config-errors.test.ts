import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";

const good = `name: t
prompts: ["a cat", "a dog"]
seeds: [0, 1, 2]
budgets: [10, 20]
strategies:
  - name: random
  - name: ses
    popsize: 10
    elites: 5
    wavelet: db1
    level: 4
evaluator:
  kind: synthetic
  shape: [1, 16, 32, 32]
`;

interface Case {
  title: string;
  yaml: string;
  files?: Record<string, string>;
  args?: string[];
  /** Every pattern must appear in stderr. */
  expect: RegExp[];
}

const edit = (from: string, to: string) => {
  if (!good.includes(from)) throw new Error(`test setup: '${from}' not in the base config`);
  return good.replace(from, to);
};

const cases: Case[] = [
  { title: "YAML syntax error", yaml: edit("seeds: [0, 1, 2]", "seeds: [0, 1, 2"), expect: [/sweep\.yaml:\d+:\d+: YAML syntax error/] },
  { title: "unknown top-level field", yaml: edit("budgets: [10, 20]", "budgets: [10, 20]\nbudget: 5"), expect: [/sweep\.yaml:5:1: budget: unknown field/] },
  { title: "unknown strategy field", yaml: edit("    popsize: 10", "    popsiz: 10"), expect: [/sweep\.yaml:8:5: strategies\.1\.popsiz: unknown field; did you mean 'popsize'\?/] },
  { title: "unknown evaluator field", yaml: edit("  kind: synthetic", "  kind: synthetic\n  latency: 3"), expect: [/sweep\.yaml:14:3: evaluator\.latency: unknown field; did you mean 'latency_ms'\?/] },
  { title: "wrong type", yaml: edit("seeds: [0, 1, 2]", "seeds: zero"), expect: [/sweep\.yaml:3:1: seeds: .*expected array.*"zero"/] },
  { title: "empty prompts", yaml: edit(`prompts: ["a cat", "a dog"]`, "prompts: []"), expect: [/sweep\.yaml:2:1: prompts: list at least one prompt/] },
  { title: "empty prompt string", yaml: edit(`prompts: ["a cat", "a dog"]`, `prompts: ["a cat", "  "]`), expect: [/prompts\.1: a prompt must not be empty/] },
  { title: "missing prompts", yaml: edit(`prompts: ["a cat", "a dog"]\n`, ""), expect: [/missing prompts: give prompts .* or prompts_file/] },
  { title: "prompts and prompts_file both", yaml: edit(`prompts: ["a cat", "a dog"]`, `prompts: ["a cat"]\nprompts_file: p.txt`), files: { "p.txt": "x\n" }, expect: [/prompts_file: give prompts or prompts_file, not both/] },
  { title: "missing prompts file", yaml: edit(`prompts: ["a cat", "a dog"]`, "prompts_file: nowhere.txt"), expect: [/sweep\.yaml:2:1: prompts_file: cannot read .*nowhere\.txt: ENOENT/] },
  { title: "prompts file without prompts", yaml: edit(`prompts: ["a cat", "a dog"]`, "prompts_file: empty.txt"), files: { "empty.txt": "\n  \n" }, expect: [/prompts_file: .*empty\.txt has no prompts/] },
  { title: "budget 0", yaml: edit("budgets: [10, 20]", "budgets: [10, 0]"), expect: [/sweep\.yaml:4:\d+: budgets\.1: .*>=1.*\(got 0\)/] },
  { title: "negative seed", yaml: edit("seeds: [0, 1, 2]", "seeds: [0, -1, 2]"), expect: [/sweep\.yaml:3:\d+: seeds\.1: .*>=0.*\(got -1\)/] },
  { title: "fractional seed", yaml: edit("seeds: [0, 1, 2]", "seeds: [0, 1.5, 2]"), expect: [/sweep\.yaml:3:\d+: seeds\.1: expected an integer \(got 1\.5\)/] },
  { title: "duplicate seed", yaml: edit("seeds: [0, 1, 2]", "seeds: [0, 1, 1]"), expect: [/seeds\.2: duplicate seed 1/] },
  { title: "elites 0", yaml: edit("    elites: 5", "    elites: 0"), expect: [/sweep\.yaml:9:5: strategies\.1\.elites: .*>=1.*\(got 0\)/] },
  { title: "duplicate labels", yaml: edit("  - name: random", "  - name: ses\n    label: ses"), expect: [/strategies\.1: duplicate label 'ses' \(also strategies\.0\)/] },
  { title: "unknown strategy", yaml: edit("  - name: random", "  - name: cmaes"), expect: [/sweep\.yaml:6:\d+: strategies\.0\.name: unknown strategy name \(expected one of: random, ses, zero-order, evolution\)/] },
  { title: "unknown wavelet", yaml: edit("wavelet: db1", "wavelet: db99"), expect: [/sweep\.yaml:10:5: strategies\.1\.wavelet: .*"db1".*\(got "db99"\)/] },
  { title: "level 0", yaml: edit("level: 4", "level: 0"), expect: [/strategies\.1\.level: .*>=1/] },
  { title: "level deeper than the noise allows", yaml: edit("level: 4", "level: 9"), expect: [/strategies\.1\.level: level 9 is deeper than db1 allows on a 32x32 noise \(at most 5\)/] },
  { title: "unknown evaluator kind", yaml: edit("kind: synthetic", "kind: flux9"), expect: [/sweep\.yaml:13:3: evaluator\.kind: unknown evaluator kind \(expected one of: synthetic, module, noop, flux2-pickscore\)/] },
  { title: "missing evaluator", yaml: good.slice(0, good.indexOf("evaluator:")), expect: [/evaluator: missing required field/] },
  { title: "bad shape", yaml: edit("shape: [1, 16, 32, 32]", "shape: [2, 16, 32, 32]"), expect: [/evaluator\.shape\.0: .*1/] },
  { title: "missing module file", yaml: edit("kind: synthetic", "kind: module\n  path: ./nope.mjs"), expect: [/sweep\.yaml:\d+:\d+: evaluator\.path: module file not found: .*nope\.mjs/] },
  { title: "module without a default export", yaml: edit("kind: synthetic", "kind: module\n  path: ./named.mjs"), files: { "named.mjs": "export function score() { return 1; }\n" }, expect: [/evaluator\.path: module .*named\.mjs has no default export function/] },
  { title: "module that does not load", yaml: edit("kind: synthetic", "kind: module\n  path: ./broken.mjs"), files: { "broken.mjs": "export default function (\n" }, expect: [/evaluator\.path: cannot load module/] },
  { title: "not a mapping", yaml: "- a\n- b\n", expect: [/expected a mapping of sweep fields/] },
  { title: "--set to an invalid value", yaml: good, args: ["--set", "budgets=[0]"], expect: [/--set budgets=\[0\]: budgets\.0: .*>=1/] },
  { title: "--set without a value", yaml: good, args: ["--set", "budgets"], expect: [/--set budgets: expected path=value/] },
];

describe("malformed configs: clear message, exit code 2, nothing written", () => {
  // Each case in its own folder, timing nothing: they run a few at once.
  for (const c of cases) {
    it.concurrent(c.title, async ({ expect }) => {
      const dir = tempDir();
      const file = path.join(dir, "sweep.yaml");
      writeFileSync(file, c.yaml);
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(path.join(dir, name), text);
      const runDir = path.join(dir, "run");
      const r = await runCli(["run", file, "--run-dir", runDir, ...(c.args ?? [])], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      for (const pattern of c.expect) expect(r.stderr).toMatch(pattern);
      // One mistake, one line: no stack trace, no second message.
      expect(r.stderr.trimEnd().split("\n"), r.stderr).toHaveLength(1);
      expect(existsSync(runDir)).toBe(false);
      expect(existsSync(path.join(dir, "results"))).toBe(false);
    });
  }

  it("accepts the base config (so every case above fails for its own reason)", async () => {
    const dir = tempDir();
    const file = path.join(dir, "sweep.yaml");
    writeFileSync(file, good);
    const r = await runCli(["plan", file], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/12 searches/);
  });
});
