/** manifest.json: what was run, with what, when, and how it ended. Replaced atomically. */
import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

export interface Manifest {
  tool: "sweep";
  version: string;
  run_id: string;
  name: string;
  status: RunStatus;
  config_file: string;
  overrides: string[];
  fingerprint: string;
  config: unknown;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
  executor: { kind: string; workers: unknown[]; wire?: { request_bytes: number; response_bytes: number; candidates: number } };
  host: { node: string; platform: string; cpus: number };
  plan: { searches: number; trials: number; evaluations: number };
  counts: { evaluations: number; errors: number };
  failed_searches: { search_id: string; error: string }[];
  /** Why the run could not run at all (e.g. no worker reachable). */
  error?: string;
  /** One entry per `--resume`: when, and how many evaluations were already recorded. */
  resumes?: { at: string; recorded_before: number }[];
}

export function writeManifest(runDir: string, manifest: Manifest): void {
  const file = path.join(runDir, "manifest.json");
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, file);
}
