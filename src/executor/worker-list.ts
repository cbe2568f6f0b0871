/** Worker addresses from a file (one HOST:PORT per line, # comments), re-read while a sweep runs. */
import { readFileSync, unwatchFile, watchFile } from "node:fs";

export function readWorkersFile(file: string): string[] {
  return readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
}

export function parseWorkerList(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** Calls `onChange(added, removed)` whenever the file's list changes; returns a stop function. */
export function watchWorkersFile(file: string, initial: string[], onChange: (added: string[], removed: string[]) => void, onError: (e: Error) => void): () => void {
  let current = new Set(initial);
  const listener = () => {
    let next: Set<string>;
    try {
      next = new Set(readWorkersFile(file));
    } catch (e) {
      onError(e as Error);
      return;
    }
    const added = [...next].filter((a) => !current.has(a));
    const removed = [...current].filter((a) => !next.has(a));
    current = next;
    if (added.length > 0 || removed.length > 0) onChange(added, removed);
  };
  watchFile(file, { interval: 500 }, listener);
  return () => unwatchFile(file, listener);
}
