/**
 * Worker entries as the user writes them: HOST:PORT or dns:NAME:PORT, in --workers (comma or space
 * separated), the config's `workers`, or a file (one per line, # comments) re-read while a sweep runs.
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { InputError } from "../../domain/input-error.js";
import { parseWorkerEntry } from "../../domain/worker-address.js";

/** A worker entry that is not one (in --workers or a workers file): a usage mistake. */
export class WorkerListError extends InputError {}

function checked(entry: string, where: string): string {
  if (!parseWorkerEntry(entry)) throw new WorkerListError(`${where}: '${entry}' is not a worker; expected HOST:PORT or dns:NAME:PORT`, where.replace(/:\d+$/, ""), true);
  return entry;
}

export function readWorkersFile(file: string): string[] {
  return readFileSync(file, "utf8").split(/\r?\n/).flatMap((line, i) => {
    const entry = line.replace(/#.*/, "").trim();
    return entry ? [checked(entry, `${file}:${i + 1}`)] : [];
  });
}

export function parseWorkerList(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean).map((e) => checked(e, "--workers"));
}

/** Calls `onEntries` with the file's entries whenever they change; returns a stop function. */
export function watchWorkersFile(file: string, initial: string[], onEntries: (entries: string[]) => void, onError: (e: Error) => void): () => void {
  let current = initial.join("\n");
  const listener = () => {
    let next: string[];
    try {
      next = readWorkersFile(file);
    } catch (e) {
      onError(e as Error);
      return;
    }
    if (next.join("\n") === current) return;
    current = next.join("\n");
    onEntries(next);
  };
  watchFile(file, { interval: 500 }, listener);
  return () => unwatchFile(file, listener);
}
