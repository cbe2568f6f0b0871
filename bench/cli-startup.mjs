// `node bench/cli-startup.mjs [--rounds N]`: how long the CLI takes to start, which every command,
// every local worker and every CLI call of the tests pays: `sweep --version`, `sweep --help`,
// `sweep worker` until it listens, and `sweep run` of a 4-evaluation noop sweep on a local worker
// (two processes started, the report written). Median and minimum of N rounds (default 10), wall
// time of the whole process (of the worker: until its address is printed); bare `node -e 0` for scale.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root, tempDir } from "./lib.mjs";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 10;
const bin = path.join(root, "bin", "sweep.js");
const dir = tempDir();
writeFileSync(path.join(dir, "sweep.yaml"), "name: noop\nprompts: [a]\nseeds: [0]\nbudgets: [4]\nstrategies: [{ name: random }]\nevaluator: { kind: noop }\n");

const exits = (args) => () => execFileSync(process.execPath, args, { stdio: "ignore" });
const cases = {
  "node -e 0": () => exits(["-e", "0"]),
  "sweep --version": () => exits([bin, "--version"]),
  "sweep --help": () => exits([bin, "--help"]),
  "sweep worker (until it listens)": () => async () => {
    const child = spawn(process.execPath, [bin, "worker", "--listen", "127.0.0.1:0", "--threads", "1"], { stdio: ["ignore", "pipe", "ignore"] });
    await once(child.stdout, "data");
    child.kill("SIGKILL");
    await once(child, "exit");
  },
  "sweep run (noop, 4 evaluations, local worker)": (i) => exits([bin, "run", path.join(dir, "sweep.yaml"), "--run-dir", path.join(dir, `run${i}`), "--threads", "1"]),
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
// Rounds interleave the cases, so a busy moment of the machine touches them all alike.
for (let i = 0; i < rounds; i++) {
  for (const [name, make] of Object.entries(cases)) {
    const run = make(i);
    const t = performance.now();
    await run();
    times[name].push((performance.now() - t) / 1000);
  }
}
rmSync(dir, { recursive: true, force: true });
for (const [name, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  console.log(`${name.padEnd(48)} median ${t[Math.floor(t.length / 2)].toFixed(3)} s, min ${t[0].toFixed(3)} s (${t.length} rounds)`);
}
