/** `sweep run`: a sweep's every search, every evaluation recorded (or `--resume` of an earlier run). */
import { setFlagsFromString } from "node:v8";
import type { Argv } from "yargs";
import type { RunOutcome } from "../coordinator/run-sweep.js";
import { InputError } from "../domain/input-error.js";
import { positiveSeconds, UsageError, withConfig, withWorkerFlags, workerConnection, type CommandResult, type WorkerFlagHelp } from "./flags.js";

/** The flags of `sweep run` that the printed resume command repeats: how the run reached its workers. */
function resumeFlags(args: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const flag of ["workers", "workers-file", "tls-ca", "tls-cert", "tls-key", "threads", "model-root"]) {
    if (args[flag] !== undefined) flags.push(`--${flag}`, String(args[flag]));
  }
  return flags;
}

/**
 * The run's stop signal: the first SIGINT, SIGTERM or SIGHUP stops it gracefully (it ends
 * interrupted, resumable); a second exits at once with 130. `release` removes the handlers.
 */
export function stopOnSignals(): { signal: AbortSignal; release: () => void } {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal}: stopping; evaluations in flight are dropped, recorded ones are kept (again to force)\n`);
    stop.abort();
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  return { signal: stop.signal, release: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/** 0 completed; an input mistake's own code (2); 130 stopped by a signal; 1 anything else. */
function exitCodeOf(outcome: RunOutcome): number {
  if (outcome.status === "completed") return 0;
  if (outcome.error instanceof InputError) return outcome.error.exitCode;
  return outcome.status === "interrupted" && !outcome.error ? 130 : 1;
}

const RUN_WORKER_FLAGS: WorkerFlagHelp = {
  threads: "Threads of the local worker started when no workers are named (default: config threads, else CPU cores)",
  workers: "gRPC workers, HOST:PORT or dns:NAME:PORT (every address NAME resolves to), comma separated (default: the config's workers, else a local worker)",
  "workers-file": "A file of HOST:PORT (or dns:NAME:PORT) lines, re-read while running: new lines join, removed lines drain",
  token: "Shared token the workers require (default: $SWEEP_TOKEN)",
  "tls-ca": "Use TLS to the workers, verifying them with this CA certificate (PEM)",
  "tls-cert": "Client certificate (PEM), for workers that ask for one",
  "tls-key": "Client key (PEM)",
  "worker-wait": "Seconds without any worker up (at the start or later) before the run stops, resumable",
};

export function runCommand<T>(y: Argv<T>, result: CommandResult): Argv<T> {
  return y.command("run [config]", "Run a sweep: every search, every evaluation recorded", (c) => withWorkerFlags(withConfig(c)
    .option("run-dir", { type: "string", describe: "Run folder (default: <output>/<name>/<run id>)" })
    .option("resume", { type: "string", describe: "Finish the run in this folder (after a crash or stop): dispatches only what is missing" })
    .option("force", { type: "boolean", default: false, describe: "With --resume: accept a changed config" }), RUN_WORKER_FLAGS)
    .option("log-every", { type: "number", default: 10, coerce: positiveSeconds("log-every"), describe: "Seconds between progress lines when not on a terminal" })
    .option("model-root", { type: "string", describe: "Model root of the local worker: model directories (flux2-pickscore's `model`) and modules resolve inside it (default: $SWEEP_MODEL_ROOT, else the config's folder)" })
    .check((a) => {
      // yargs' "mutually exclusive" would not say that --resume already names the folder.
      if (a.resume && a["run-dir"]) throw new UsageError("--resume names the run folder already; drop --run-dir");
      return true;
    }),
  async (args) => {
    const [{ loadSweep }, { runSweep }] = await Promise.all([import("../config/load.js"), import("../coordinator/run-sweep.js")]);
    // The coordinator's live heap is small (about 30 MB at any scale) but it allocates fast; V8's
    // default lets the heap grow up to 4x between full collections, so resident memory would climb
    // by 80+ MB in a fast run. Growing by 20% keeps it flat for a few percent more GC time. Set once
    // the config is loaded: set before, bench/dispatch.mjs measured 36 MB of growth instead of 14-18.
    const sweep = await loadSweep(args.config, { overrides: args.set });
    setFlagsFromString("--heap-growing-percent=20");
    const stop = stopOnSignals();
    const outcome = await runSweep(sweep, {
      runDir: args["run-dir"],
      resume: args.resume,
      force: args.force,
      threads: args.threads,
      ...workerConnection(args),
      logEvery: args["log-every"],
      workerWait: args["worker-wait"],
      modelRoot: args["model-root"] ?? (process.env.SWEEP_MODEL_ROOT || undefined),
      resumeFlags: resumeFlags(args),
      // This process's own script (bin/sweep.js): the local worker is started with it.
      cliEntry: process.argv[1],
      stop: stop.signal,
      measureWire: process.env.SWEEP_MEASURE_WIRE === "1",
    }).finally(stop.release);
    result.exitCode = exitCodeOf(outcome);
  });
}
