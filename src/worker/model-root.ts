/** Module paths from a coordinator resolve inside the worker's model root; escaping it is refused. */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { ModelInputError } from "../models/model-error.js";
import { WorkerSetupError } from "./worker-setup-error.js";

export class ModelRoot {
  readonly dir: string;
  private readonly digests = new Map<string, string>();

  constructor(dir: string) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new WorkerSetupError(`${dir} is not a folder`, "--model-root");
    this.dir = realpathSync(dir);
  }

  /**
   * The real file for a module path from a request, or a ModelInputError saying why it is refused
   * (fatal: the run stops, as no retry can help). Symbolic links are followed before the check, so
   * nothing outside the model root is ever imported.
   */
  resolve(requested: string): string {
    if (requested === "" || path.isAbsolute(requested)) {
      throw new ModelInputError(`module path '${requested}' must be relative to the model root ${this.dir}`);
    }
    const joined = path.resolve(this.dir, requested);
    if (escapes(this.dir, joined)) throw new ModelInputError(`module path '${requested}' escapes the model root ${this.dir}`);
    let real: string;
    try {
      real = realpathSync(joined);
    } catch {
      throw new ModelInputError(`module '${requested}' not found under the model root ${this.dir}`);
    }
    if (escapes(this.dir, real)) {
      throw new ModelInputError(`module path '${requested}' is a symbolic link to ${real}, outside the model root ${this.dir}; refused`);
    }
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
