/**
 * The command that resumes a run, printed when it stops short (interrupted, no worker, disk full):
 * the same sweep file, the same --set overrides and the same way to reach the workers, so that it
 * runs as printed. A token is never printed: `SWEEP_TOKEN=...` stands for it.
 */
import path from "node:path";
import { shellQuote } from "../util/shell-quote.js";

export interface ResumeCommandParts {
  /** The sweep file (shown relative to the current folder when inside it). */
  configFile: string;
  overrides: readonly string[];
  /** Flags that say how the run reached its workers (--workers, --tls-ca, --threads ...), as given. */
  flags?: readonly string[];
  /** A token was used (from --token or $SWEEP_TOKEN): the command needs it again, as SWEEP_TOKEN. */
  token?: boolean;
}

export function resumeCommand(runDir: string, parts: ResumeCommandParts): string {
  const rel = path.relative(process.cwd(), parts.configFile);
  const config = rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : parts.configFile;
  const words = ["run", config, "--resume", runDir];
  for (const o of parts.overrides) words.push("--set", o);
  words.push(...(parts.flags ?? []));
  return `${parts.token ? "SWEEP_TOKEN=... " : ""}${invokedAs()} ${words.map(shellQuote).join(" ")}`;
}

/** The command that renders the best images a run could not: `sweep render --run RUN --best`, reaching the same workers. */
export function renderBestCommand(runDir: string, parts: Pick<ResumeCommandParts, "flags" | "token">): string {
  const words = ["render", "--run", runDir, "--best", ...(parts.flags ?? [])];
  return `${parts.token ? "SWEEP_TOKEN=... " : ""}${invokedAs()} ${words.map(shellQuote).join(" ")}`;
}

/** The tool as the user started it: `npx sweep` under npx or an npm script (`sweep` is not on PATH after `npm ci`), else `sweep`. */
export function invokedAs(): string {
  return process.env.npm_command === "exec" || process.env.npm_command === "run-script" ? "npx sweep" : "sweep";
}

/** The command as printed: a token stands as SWEEP_TOKEN=..., with a line saying what it is. */
export function printedResumeCommand(runDir: string, parts: ResumeCommandParts): string {
  const command = resumeCommand(runDir, parts);
  return parts.token ? `${command}\n  (SWEEP_TOKEN: the token the workers require; its value is not printed)` : command;
}
