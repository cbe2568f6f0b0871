// Issue 10, defect 11: messages that say what is true, in one clear line.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const yaml = `prompts: ["a"]
seeds: [0, 1]
budgets: [4]
strategies:
  - name: random
  - name: ses
    popsize: 2
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("clear messages", () => {
  it("--set with a list index out of range says so in one line", async () => {
    const dir = sweepDir(yaml);
    const r = await runCli(["plan", "sweep.yaml", "--set", "strategies.5.popsize=20"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("--set strategies.5.popsize=20: strategies.5 does not exist: strategies has 2 entries (strategies.0 to strategies.1)");
    // The next index adds an entry.
    const added = await runCli(["plan", "sweep.yaml", "--set", "strategies.2={name: ses, label: ses4, popsize: 4}"], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/ses4/);
  });

  it("a seed above 2^53 is reported once, as written", async () => {
    const dir = sweepDir(yaml.replace("seeds: [0, 1]", "seeds: [0, 9007199254740993]"));
    const r = await runCli(["plan", "sweep.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("sweep.yaml:2:12: seeds.1: a seed is at most 2^53-1 = 9007199254740991 (larger integers are not exact as numbers) (got 9007199254740993)");
  });

  it("the header counts the workers that are up, not those still connecting", async () => {
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1"]);
    const dir = sweepDir(yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", `${w.address},127.0.0.1:${await closedPort()}`], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^sweep sweep: 4 searches, 4 trials, 16 evaluations on 1 of 2 workers up so far, 1 slot \(the others join as they come up\) -> run$/m);
    const one = await runCli(["run", "sweep.yaml", "--run-dir", "run1", "--workers", w.address], { cwd: dir });
    expect(one.stderr).toMatch(/ evaluations on 1 worker, 1 slot -> run1$/m);
    await w.stop();
  });

  it("a run's own report says it is complete, not in progress", async () => {
    const dir = sweepDir(yaml);
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "1"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = readFileSync(path.join(dir, "run", "report.md"), "utf8");
    expect(report).toMatch(/^Complete run\.$/m);
    expect(report).not.toMatch(/IN PROGRESS/);
  });

  it("an all-failed run's report says no trial succeeded, not that there is no other strategy", async () => {
    const dir = sweepDir(yaml.replace("{ kind: synthetic, shape: [1, 4, 16, 16] }", "{ kind: module, path: fail.mjs, shape: [1, 4, 16, 16], retries: 0 }"));
    writeFileSync(path.join(dir, "fail.mjs"), "export default () => { throw new Error('boom'); };\n");
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--threads", "1"], { cwd: dir });
    expect(r.code).toBe(1);
    const report = readFileSync(path.join(dir, "run", "report.md"), "utf8");
    expect(report).toContain("No comparison: no trial succeeded (4 of 4 failed, 0 incomplete).");
    expect(report).not.toMatch(/No other strategy|IN PROGRESS/);
    expect(report).toMatch(/^INCOMPLETE run \(status failed\)/m);
    const html = readFileSync(path.join(dir, "run", "report.html"), "utf8");
    expect(html).toContain('<p id="comparisons">No comparison: no trial succeeded (4 of 4 failed, 0 incomplete).</p>');
  });
});
