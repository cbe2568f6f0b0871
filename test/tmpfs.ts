// A small tmpfs for the disk tests (a full disk, a read-only one): mounting needs root, so where it
// cannot be mounted the caller's test is skipped (test.runIf) and shown as skipped.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll } from "vitest";
import { tempDir } from "./cli.js";

const mounts: string[] = [];

afterAll(() => {
  for (const m of mounts.splice(0)) {
    execFileSync("umount", [m]);
    rmSync(m, { recursive: true, force: true });
  }
});

/** A fresh tmpfs mounted with `options` (e.g. "size=160k", "size=1m,ro"), unmounted after the file's tests; undefined where it cannot be mounted. */
export function mountTmpfs(options: string): string | undefined {
  const dir = tempDir("sweep-tmpfs-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  mounts.push(dir);
  return dir;
}
