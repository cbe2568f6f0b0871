// Issue 10, defect 7: a module path that is a symbolic link out of the allowed folder is refused
// when the config is loaded (exit 2, file:line:col) and by a worker (exit 2 at its first answer),
// and the module it points to is never imported, by the coordinator or by a worker.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { killAllWorkers, startWorkerProcess } from "./workers.js";

afterAll(killAllWorkers);

const yaml = `prompts: ["a"]
seeds: [0, 1]
budgets: [4]
strategies: [{ name: random }]
evaluator:
  kind: module
  path: score.mjs
  shape: [1, 4, 16, 16]
`;

/** A module outside any allowed folder that leaves a marker file when it is imported. */
function outsideModule(): { file: string; marker: string } {
  const dir = tempDir("sweep-outside-");
  const marker = path.join(dir, "imported");
  const file = path.join(dir, "outside.mjs");
  writeFileSync(file, `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "imported");\nexport default () => 1;\n`);
  return { file, marker };
}

describe("a module path that is a symbolic link out of its folder", () => {
  it("is refused at load time with file:line:col (exit 2), without importing its target or writing a run", async () => {
    const outside = outsideModule();
    const dir = sweepDir(yaml);
    symlinkSync(outside.file, path.join(dir, "score.mjs"));
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run"], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^sweep\.yaml:7:3: evaluator\.path: module path score\.mjs is a symbolic link to \S*outside\.mjs, outside the sweep file's folder \S+ \(workers refuse modules outside their --model-root\); copy the module into the folder$/m);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(outside.marker)).toBe(false);
    expect(existsSync(path.join(dir, "run"))).toBe(false);
  });

  it("through a linked folder too, while a link that stays inside the folder is fine", async () => {
    const outside = outsideModule();
    const dir = sweepDir(yaml.replace("path: score.mjs", "path: lib/outside.mjs"));
    symlinkSync(path.dirname(outside.file), path.join(dir, "lib"));
    const r = await runCli(["plan", "sweep.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/evaluator\.path: module path lib\/outside\.mjs is a symbolic link to /);
    expect(existsSync(outside.marker)).toBe(false);

    const inside = sweepDir(yaml);
    mkdirSync(path.join(inside, "impl"));
    writeFileSync(path.join(inside, "impl", "score.mjs"), "export default () => 1;\n");
    symlinkSync(path.join(inside, "impl", "score.mjs"), path.join(inside, "score.mjs"));
    const ok = await runCli(["run", "sweep.yaml", "--run-dir", "run"], { cwd: inside });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("is refused by a worker whose model root has it: the run stops at the first answer with exit 2, the target never imported", async () => {
    const outside = outsideModule();
    const root = tempDir("sweep-root-");
    symlinkSync(outside.file, path.join(root, "score.mjs"));
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--threads", "1", "--model-root", root]);
    // The coordinator's own copy is a plain file in its folder: its check passes.
    const dir = sweepDir(yaml);
    writeFileSync(path.join(dir, "score.mjs"), "export default () => 1;\n");
    const r = await runCli(["run", "sweep.yaml", "--run-dir", "run", "--workers", w.address], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/worker 127\.0\.0\.1:\d+: module path 'score\.mjs' is a symbolic link to \S*outside\.mjs, outside the model root \S+; refused/);
    expect(existsSync(outside.marker)).toBe(false);
    await w.stop();
  });
});
