/** Module paths from a coordinator resolve inside the worker's model root; escaping it is refused. */
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";

export class ModelRoot {
  readonly dir: string;
  private readonly digests = new Map<string, string>();

  constructor(dir: string) {
    this.dir = realpathSync(dir);
  }

  /** The absolute file for a path from a request, or an Error saying why it is refused. */
  resolve(requested: string): string {
    if (requested === "" || path.isAbsolute(requested)) {
      throw new Error(`module path '${requested}' must be relative to the worker's model root`);
    }
    const joined = path.resolve(this.dir, requested);
    let real: string;
    try {
      real = realpathSync(joined);
    } catch {
      if (escapes(this.dir, joined)) throw new Error(`module path '${requested}' escapes the model root`);
      throw new Error(`module '${requested}' not found under the model root ${this.dir}`);
    }
    if (escapes(this.dir, joined) || escapes(this.dir, real)) throw new Error(`module path '${requested}' escapes the model root`);
    return real;
  }

  /** sha256 of a file (cached), reported by Describe and checked against the coordinator's. */
  digest(file: string): string {
    let d = this.digests.get(file);
    if (!d) {
      d = createHash("sha256").update(readFileSync(file)).digest("hex");
      this.digests.set(file, d);
    }
    return d;
  }

  loaded(): { name: string; sha256: string }[] {
    return [...this.digests].map(([file, sha256]) => ({ name: path.relative(this.dir, file), sha256 }));
  }
}

function escapes(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}
