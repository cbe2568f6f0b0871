/** --help shows numeric flags as numbers (they are declared so), while their messages still quote what was typed. */
import { expect, it } from "vitest";
import { runCli } from "./cli.js";

it("numeric flags are [number] in --help, and a wrong one is quoted as typed", async () => {
  const help = await runCli(["run", "--help"]);
  for (const flag of ["threads", "worker-wait", "log-every"]) expect(help.stdout).toMatch(new RegExp(`--${flag}\\s[^\\[]*\\[number\\]`));
  const worker = await runCli(["worker", "--help"]);
  expect(worker.stdout).toMatch(/--drain-timeout\s[^[]*\[number\]/);
  const wrong = await runCli(["noise", "--seed", "0x10", "--out", "n.npy"]);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/--seed: expected a non-negative integer \(got '0x10'\)/);
});
