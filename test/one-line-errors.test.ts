/**
 * File system mistakes are one line, never a stack trace: `models import --out` under a file, on a
 * read-only file system, on a full disk (nothing left behind); `render --out` and `noise --out`
 * naming an existing folder. Real files; tmpfs mounts need root (skipped otherwise).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, test } from "vitest";
import { runCli, tempDir, type CliResult } from "./cli.js";
import { mountTmpfs } from "./tmpfs.js";

const oneLine = (r: CliResult) => {
  expect(r.stderr).not.toMatch(/\n\s+at |node:internal|Error: E[A-Z]+/);
  expect(r.stderr.trim().split("\n").filter((l) => !/^Run 'sweep --help'/.test(l))).toHaveLength(1);
};

describe("output paths that cannot be written", () => {
  it("models import --out under a file: exit 2, one line naming the file", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "a-file"), "");
    const r = await runCli(["models", "import", "--synthetic", "flux2-tiny", "--out", path.join(dir, "a-file", "model")]);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain(`--out: ${path.join(dir, "a-file")} is a file, not a folder`);
  });

  it("render --out and noise --out naming a folder: exit 2, one line", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "images"));
    const render = await runCli(["render", "--run", dir, "--search", "p0/random/s0", "--eval", "0", "--out", path.join(dir, "images")]);
    expect(render.code).toBe(2);
    oneLine(render);
    expect(render.stderr).toContain(`--out: ${path.join(dir, "images")} is a folder; name the file to write`);
    const noise = await runCli(["noise", "--seed", "1", "--out", path.join(dir, "images")]);
    expect(noise.code).toBe(2);
    oneLine(noise);
  });
});

const readOnly = mountTmpfs("size=1m,ro");
const small = mountTmpfs("size=600k");

test.runIf(readOnly)("models import --out on a read-only file system: exit 2, one line (needs root for a tmpfs)", async () => {
  const r = await runCli(["models", "import", "--synthetic", "flux2-tiny", "--out", path.join(readOnly!, "model")]);
  expect(r.code).toBe(2);
  oneLine(r);
  expect(r.stderr).toMatch(/cannot write in .* \(read-only file system\)/);
});

test.runIf(small)("models import on a disk that fills up: exit 1, one line, nothing left behind (needs root for a tmpfs)", async () => {
  const r = await runCli(["models", "import", "--synthetic", "flux2-tiny", "--out", path.join(small!, "model")]);
  expect(r.code).toBe(1);
  oneLine(r);
  expect(r.stderr).toMatch(/no space left on the device/);
  expect(readdirSync(small!)).toEqual([]);
});
