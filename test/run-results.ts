import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";

export type Row = Record<string, string>;

export function readCsv(runDir: string, name: "evaluations.csv" | "trials.csv" | "index.csv" | "heldout.csv"): Row[] {
  return parse(readFileSync(path.join(runDir, name), "utf8"), { columns: true, skip_empty_lines: true }) as Row[];
}

/** search_id/eval_index -> score text, the identity of a run's results. */
export function scoresByKey(rows: Row[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const r of rows) {
    const key = `${r.search_id}#${r.eval_index}`;
    if (map.has(key)) throw new Error(`duplicate key ${key}`);
    map.set(key, r.score);
  }
  return map;
}

export function readManifest(runDir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"));
}
