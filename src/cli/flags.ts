/** What the commands share: the usage error, coercers that check a flag's value, the config positional. */
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Argv } from "yargs";
import { parseWorkerList } from "../coordinator/workers/worker-list.js";
import { InputError } from "../domain/input-error.js";

/** The built-in default sweep, shipped with the package. */
export const QUICKSTART = fileURLToPath(new URL("../../configs/quickstart.yaml", import.meta.url));

/** A mistake on the command line itself: exit code 2, with the pointer to --help. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message, undefined, true);
  }
}

/** What a command's handler hands back to main: the exit code (0 unless it sets one). */
export interface CommandResult {
  exitCode: number;
}

interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  /** The smallest value allowed, and whether it is allowed itself (default: yes). */
  min?: number;
  exclusiveMin?: boolean;
  /** What the value is, for the message, e.g. "a positive number of seconds". */
  what: string;
}

/** A flag given twice comes as an array: the last one counts. */
const lastOf = (value: unknown) => String(Array.isArray(value) ? value[value.length - 1] : value);

/** What was typed for `--flag` on the command line (its last occurrence), as typed. */
function typedText(flag: string): string | undefined {
  const argv = process.argv;
  let typed: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${flag}` && i + 1 < argv.length) typed = argv[i + 1];
    else if (argv[i].startsWith(`--${flag}=`)) typed = argv[i].slice(flag.length + 3);
  }
  return typed;
}

/**
 * A yargs `coerce` for a numeric flag (declared as a number, so --help says so): refuses text, NaN,
 * fractions where integers are wanted and values out of range, naming the flag and quoting what was
 * typed. Applied to defaults too; undefined stays undefined.
 */
export function numberFlag(flag: string, rule: NumberRule) {
  return (value: unknown): number => {
    if (value === undefined) return undefined as unknown as number;
    // the text as typed, not yargs' number of it (which takes 0x10 for 16 and 'abc' for NaN); else the default
    const text = (typedText(flag) ?? lastOf(value)).trim();
    const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
    const ok = Number.isFinite(n) && (!rule.integer || Number.isSafeInteger(n))
      && (rule.min === undefined || (rule.exclusiveMin ? n > rule.min : n >= rule.min));
    if (!ok) throw new UsageError(`--${flag}: expected ${rule.what} (got '${text}')`);
    return n;
  };
}

export const positiveInteger = (flag: string) => numberFlag(flag, { integer: true, min: 1, what: "a positive integer" });
export const nonNegativeInteger = (flag: string) => numberFlag(flag, { integer: true, min: 0, what: "a non-negative integer" });
export const positiveSeconds = (flag: string) => numberFlag(flag, { min: 0, exclusiveMin: true, what: "a positive number of seconds" });

/** A yargs `coerce` for a flag naming a file that must exist and be readable now: the message names the flag. */
export function readableFile(flag: string) {
  return (value: unknown): string => {
    if (value === undefined) return undefined as unknown as string;
    const file = lastOf(value);
    let problem: string | undefined;
    try {
      if (!statSync(file).isFile()) problem = "not a file";
      else accessSync(file, fsConstants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problem = code === "ENOENT" ? "no such file" : code === "EACCES" ? "not readable" : (code ?? (e as Error).message);
    }
    if (problem) throw new UsageError(`--${flag}: cannot read ${file} (${problem})`);
    return file;
  };
}

/** Refuses an output file (--out) whose folder does not exist, or that names a folder, before anything is computed. */
export function requireOutFolder(file: string): void {
  if (!existsSync(path.dirname(path.resolve(file)))) throw new UsageError(`--out: folder ${path.dirname(file)} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`--out: ${file} is a folder; name the file to write`);
}

/**
 * Refuses an output folder (--out of `models import`) that cannot be made: its nearest existing
 * parent is a file, or not writable (a read-only mount, permissions), before anything is written.
 */
export function requireWritableParent(flag: string, dir: string): void {
  let parent = path.dirname(path.resolve(dir));
  while (!existsSync(parent)) parent = path.dirname(parent);
  if (!statSync(parent).isDirectory()) throw new UsageError(`--${flag}: ${parent} is a file, not a folder`);
  try {
    accessSync(parent, fsConstants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--${flag}: cannot write in ${parent} (${code === "EROFS" ? "read-only file system" : code === "EACCES" ? "permission denied" : code})`);
  }
}

/** The sweep file positional (default: the quickstart) and --set overrides, of `run` and `plan`. */
export function withConfig<T>(y: Argv<T>) {
  return y
    .positional("config", { type: "string", describe: "Sweep YAML file", default: path.relative(process.cwd(), QUICKSTART) })
    .option("set", { type: "string", array: true, default: [] as string[], describe: "Override a field: path=value (YAML value), e.g. budgets=[10,20]" });
}

/** What each worker flag says in a command's --help. */
export type WorkerFlagHelp = Record<"threads" | "workers" | "workers-file" | "token" | "tls-ca" | "tls-cert" | "tls-key" | "worker-wait", string>;

/** The flags that name workers and how to reach them, with `help`'s descriptions (`sweep run`, `sweep render --best`). */
export function withWorkerFlags<T>(y: Argv<T>, help: WorkerFlagHelp) {
  return y
    .option("threads", { type: "number", coerce: positiveInteger("threads"), describe: help.threads })
    .option("workers", { type: "string", describe: help.workers })
    .option("workers-file", { type: "string", coerce: readableFile("workers-file"), describe: help["workers-file"] })
    .option("token", { type: "string", describe: help.token })
    .option("tls-ca", { type: "string", coerce: readableFile("tls-ca"), describe: help["tls-ca"] })
    .option("tls-cert", { type: "string", coerce: readableFile("tls-cert"), describe: help["tls-cert"] })
    .option("tls-key", { type: "string", coerce: readableFile("tls-key"), describe: help["tls-key"] })
    .option("worker-wait", { type: "number", default: 60, coerce: positiveSeconds("worker-wait"), describe: help["worker-wait"] })
    .conflicts("workers", "workers-file");
}

/** The flags that name workers and how to reach them (`sweep run`, `sweep render --best`). */
export interface WorkerFlags {
  workers?: string;
  "workers-file"?: string;
  token?: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
}

/** Workers, workers file, token (default $SWEEP_TOKEN) and TLS files read, as the coordinator takes them. */
export function workerConnection(args: WorkerFlags) {
  return {
    workers: args.workers !== undefined ? parseWorkerList(args.workers) : undefined,
    workersFile: args["workers-file"],
    token: args.token ?? process.env.SWEEP_TOKEN,
    tls: args["tls-ca"]
      ? {
        ca: readFileSync(args["tls-ca"]),
        cert: args["tls-cert"] ? readFileSync(args["tls-cert"]) : undefined,
        key: args["tls-key"] ? readFileSync(args["tls-key"]) : undefined,
      }
      : undefined,
  };
}
