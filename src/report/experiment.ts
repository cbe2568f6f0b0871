/**
 * The experiment a report describes, read off manifest.json: when and how long, which tool, which
 * sweep file (name and fingerprint), prompts, seeds, budgets, every strategy's options, the
 * evaluator's settings, the workers and devices that computed the scores, resumes and forced
 * config changes. Pure; strategies and evaluators are described generically (their own fields).
 */
import path from "node:path";
import type { Manifest } from "../results/manifest.js";

export interface ExperimentWorker {
  address: string;
  worker_id: string | null;
  tool_version: string | null;
  /** "id: execution provider / runtime / name" per device */
  devices: string[];
  /** evaluations it computed */
  completed: number | null;
}

export interface Experiment {
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
  tool_version: string;
  /** the sweep file's name (its folder left out: it is where the run was started) */
  sweep_file: string;
  overrides: string[];
  fingerprint: string;
  description: string | null;
  prompts: number;
  seeds: number[];
  budgets: number[];
  /** label, name and the strategy's own options (defaults applied), as the manifest has them */
  strategies: { label: string; name: string; options: Record<string, unknown> }[];
  /** the evaluator's fields, kind first */
  evaluator: Record<string, unknown>;
  /** timeout and retries of an evaluation */
  execution: Record<string, unknown>;
  executor: string;
  workers: ExperimentWorker[];
  host: string;
  resumes: { at: string; recorded_before: number }[];
  config_changes: { at: string; fields: string[]; changes: string[] }[];
}

interface DescribedWorker {
  address?: string;
  worker_id?: string;
  tool_version?: string;
  completed?: number;
  devices?: { id?: string; execution_provider?: string; runtime?: string; name?: string }[];
}

export function describeExperiment(m: Manifest): Experiment {
  const sweep = m.config;
  return {
    started_at: m.started_at,
    finished_at: m.finished_at,
    duration_s: m.duration_s,
    tool_version: m.version,
    sweep_file: path.basename(m.config_file),
    overrides: m.overrides,
    fingerprint: m.fingerprint,
    description: sweep.description ?? null,
    prompts: sweep.prompts.length,
    seeds: [...sweep.seeds],
    budgets: [...sweep.budgets],
    strategies: sweep.strategies.map(({ name, label, ...options }) => ({ label, name, options })),
    evaluator: { ...sweep.evaluator },
    execution: { ...sweep.execution },
    executor: m.executor.kind,
    workers: (m.executor.workers as DescribedWorker[]).map((w) => ({
      address: w.address ?? "?",
      worker_id: w.worker_id ?? null,
      tool_version: w.tool_version ?? null,
      devices: (w.devices ?? []).map((d) => `${d.id ?? "?"}: ${[d.execution_provider, d.runtime, d.name].filter(Boolean).join(" / ")}`),
      completed: w.completed ?? null,
    })),
    host: `${m.host.platform}, node ${m.host.node}, ${m.host.cpus} CPUs`,
    resumes: m.resumes ?? [],
    config_changes: (m.config_changes ?? []).map((c) => ({ at: c.at, fields: c.fields, changes: c.changes ?? [] })),
  };
}

/** An option's value in a line: arrays and objects as compact JSON. */
export function optionValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** "popsize 10, elites 5, wavelet db1" ("no options" where a strategy has none). */
export function optionsLine(options: Record<string, unknown>): string {
  const entries = Object.entries(options);
  return entries.length === 0 ? "no options" : entries.map(([k, v]) => `${k} ${optionValue(v)}`).join(", ");
}

/** "1 h 2 min", "3 min 4 s", "8.0 s" */
export function durationText(seconds: number | null): string {
  if (seconds === null) return "unfinished";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
