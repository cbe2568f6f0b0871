/**
 * A local worker that cannot start (here: an address-space limit the coordinator fits under but a
 * worker of 8 threads does not, so V8 fails to reserve its memory): one line naming what the worker
 * said, no stack trace, exit 1, manifest.json `failed` with that reason (not `running`), and
 * `--resume` completes the run once the limit is gone.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { runCli, sweepBin, sweepDir, type CliResult } from "./cli.js";
import { repoRoot } from "./reference.js";

/** `sweep ARGS` under prlimit: the coordinator and the local worker it starts share the limit. */
function runLimited(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("prlimit", [`--as=${1536 * 2 ** 20}`, process.execPath, sweepBin, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const manifestOf = (runDir: string) => JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"));

test("a local worker that cannot start: one line, exit 1, manifest failed with the reason; --resume completes once the cause is gone", async () => {
  const dir = sweepDir("prompts: [a, b]\nseeds: [0]\nbudgets: [4]\nstrategies: [{name: random}]\nevaluator: {kind: synthetic, shape: [1, 4, 8, 8]}\n");
  const runDir = path.join(dir, "run");
  const r = await runLimited(["run", path.join(dir, "sweep.yaml"), "--run-dir", runDir, "--threads", "8"]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(/\n\s+at |Node\.js v/);
  expect(r.stderr).toMatch(/^sweep: local worker exited \(\w+\) before listening: .*(OOM|memory).*\nNothing was evaluated; fix this and start the run again\n$/m);
  expect(manifestOf(runDir)).toMatchObject({ status: "failed", error: expect.stringMatching(/^local worker exited .* before listening/) });

  const resumed = await runCli(["run", path.join(dir, "sweep.yaml"), "--resume", runDir, "--threads", "1"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  const after = manifestOf(runDir);
  expect(after).toMatchObject({ status: "completed", counts: { evaluations: 8 } });
  // the earlier attempt's reason does not stay on the completed run
  expect(after.error).toBeUndefined();
}, 60_000);
