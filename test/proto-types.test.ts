// The TypeScript types of proto/sweep/v1/worker.proto are generated (npm run proto:types) and
// committed: they must be what a fresh generation from proto/ gives.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "./cli.js";
import { repoRoot } from "./reference.js";

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

it("src/grpc/generated/ is what npm run proto:types makes from proto/", () => {
  const script = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).scripts["proto:types"] as string;
  const out = tempDir();
  const args = script.split(/\s+/).slice(1).map((a, i, all) => (all[i - 1] === "-O" ? out : a));
  execFileSync(path.join(repoRoot, "node_modules/.bin/proto-loader-gen-types"), args, { cwd: repoRoot, stdio: "pipe" });
  const committed = path.join(repoRoot, "src/grpc/generated");
  expect(files(committed)).toEqual(files(out));
  for (const f of files(out)) expect(readFileSync(path.join(committed, f), "utf8"), f).toBe(readFileSync(path.join(out, f), "utf8"));
});
