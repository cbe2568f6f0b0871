import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { loadSweep } from "../src/config/load.js";
import { sweepDir } from "./cli.js";

const rest = "seeds: [0]\nbudgets: [1]\nstrategies: [{name: random}]\nevaluator: {kind: noop}\n";

test("prompts are kept exactly as written, inline and from a file: the text encoders' tokens depend on every space", async () => {
  const inline = sweepDir(`prompts: ["  sketch, a cat ", "a\\tlighthouse"]\n${rest}`);
  expect((await loadSweep(path.join(inline, "sweep.yaml"))).prompts).toEqual(["  sketch, a cat ", "a\tlighthouse"]);
  const fromFile = sweepDir(`prompts_file: p.txt\n${rest}`);
  writeFileSync(path.join(fromFile, "p.txt"), " sketch, a cat\r\n\n   \na lighthouse at dawn  \n");
  expect((await loadSweep(path.join(fromFile, "sweep.yaml"))).prompts).toEqual([" sketch, a cat", "a lighthouse at dawn  "]);
});

test("a prompt of only spaces is still refused", async () => {
  const dir = sweepDir(`prompts: ["   "]\n${rest}`);
  await expect(loadSweep(path.join(dir, "sweep.yaml"))).rejects.toThrow(/prompts\.0: a prompt must not be empty/);
});
