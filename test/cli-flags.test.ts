// Every numeric flag is checked by the parser itself (issue 10, defect 10's second half): a bad
// value is refused with the flag's name and what it expects, exit code 2, before anything runs.
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./cli.js";

const yaml = `name: flags
prompts: ["a cat"]
seeds: [0]
budgets: [4]
strategies: [{ name: random }]
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

const cases: [string[], RegExp][] = [
  [["run", "sweep.yaml", "--worker-wait", "-5"], /--worker-wait: expected a positive number of seconds \(got '-5'\)/],
  [["run", "sweep.yaml", "--worker-wait", "abc"], /--worker-wait: expected a positive number of seconds \(got 'abc'\)/],
  [["run", "sweep.yaml", "--worker-wait", "0"], /--worker-wait: expected a positive number of seconds \(got '0'\)/],
  [["run", "sweep.yaml", "--log-every", "0"], /--log-every: expected a positive number of seconds \(got '0'\)/],
  [["run", "sweep.yaml", "--log-every", "1s"], /--log-every: expected a positive number of seconds \(got '1s'\)/],
  [["run", "sweep.yaml", "--threads", "0"], /--threads: expected a positive integer \(got '0'\)/],
  [["run", "sweep.yaml", "--threads", "1.5"], /--threads: expected a positive integer \(got '1\.5'\)/],
  [["worker", "--listen", "127.0.0.1:0", "--threads", "-2"], /--threads: expected a positive integer \(got '-2'\)/],
  [["worker", "--listen", "127.0.0.1:0", "--drain-timeout", "-1"], /--drain-timeout: expected a number of seconds, 0 or more \(got '-1'\)/],
  [["worker", "--listen", "127.0.0.1:0", "--drain-timeout", "5s"], /--drain-timeout: expected a number of seconds, 0 or more \(got '5s'\)/],
  [["report", "run", "--resamples", "50"], /--resamples: expected an integer >= 100 \(got '50'\)/],
  [["report", "run", "--seed", "-1"], /--seed: expected a non-negative integer \(got '-1'\)/],
  [["report", "run", "--seed", "abc"], /--seed: expected a non-negative integer \(got 'abc'\)/],
  [["noise", "--seed", "abc", "--out", "x.npy"], /--seed: expected a non-negative integer \(got 'abc'\)/],
  [["noise", "--seed", "1.5", "--out", "x.npy"], /--seed: expected a non-negative integer \(got '1\.5'\)/],
  [["noise", "--seed", "1", "--shape", "1,a,4", "--out", "x.npy"], /--shape: expected positive integers separated by commas/],
  [["noise", "--run", "run", "--search", "p0/random/s0", "--eval", "-1", "--out", "x.npy"], /--eval: expected a non-negative integer \(got '-1'\)/],
  [["noise", "--run", "run", "--best", "--budget", "0", "--out-dir", "best"], /--budget: expected a positive integer \(got '0'\)/],
  [["render", "--run", "run", "--search", "p0/random/s0", "--eval", "first", "--out", "x.png"], /--eval: expected a non-negative integer \(got 'first'\)/],
];

describe("numeric flags are validated by the parser", () => {
  it("refuses each bad value naming the flag, exit 2, before anything is written", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "sweep.yaml"), yaml);
    const results = await Promise.all(cases.map(([args]) => runCli(args, { cwd: dir, timeoutMs: 30_000 })));
    results.forEach((r, i) => {
      const [args, pattern] = cases[i];
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split("\n")[0], args.join(" ")).toMatch(new RegExp(`^sweep: ${pattern.source}`));
      expect(r.stderr, args.join(" ")).not.toMatch(/^\s+at /m);
    });
    // Nothing ran: no run folder, no results/, no output file.
    expect(readdirSync(dir)).toEqual(["sweep.yaml"]);
  });

  it("accepts good values, fractions of seconds included", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "sweep.yaml"), yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "1", "--worker-wait", "30.5", "--log-every", "0.5"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = await runCli(["report", "run", "--seed", "7", "--resamples", "200", "--out", "rep"], { cwd: dir });
    expect(report.code, report.stderr).toBe(0);
  });
});
