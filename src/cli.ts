/** The `sweep` command line: run, plan, noise. Returns an exit code (0 ok, 1 failed searches, 2 bad input, 130 interrupted). */
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import yargs, { type Argv } from "yargs";
import { ConfigError } from "./config/config-error.js";
import { InputError } from "./domain/input-error.js";
import { loadSweep } from "./config/load.js";
import { writeNpy } from "./io/npy.js";
import { roundToBfloat16 } from "./noise/bfloat16.js";
import { torchRandn } from "./noise/torch-generator.js";
import { planSweep } from "./plan/plan.js";
import { generateReport, type ReportFormat } from "./report/generate.js";
import { ReportInputError } from "./report/load-run.js";
import { exportBestNoises, exportCandidateNoise, type NoiseDtype } from "./report/noise-export.js";
import { terminalTable } from "./report/render.js";
import { textTable } from "./report/text-table.js";
import { readRunManifest } from "./results/manifest.js";
import { ReplayError } from "./results/replay.js";
import { ConfigChangedError } from "./coordinator/resume.js";
import { runSweep } from "./coordinator/run-sweep.js";
import { parseWorkerList, WorkerListError } from "./coordinator/workers/worker-list.js";
import { startWorker, WorkerSetupError } from "./worker/worker-server.js";
import { importModels } from "./models/import-models.js";
import { renderCandidate } from "./report/candidate-image.js";
import { availableParallelism } from "node:os";
import { ModelInputError } from "./models/model-error.js";
import { SYNTHETIC_MODELS, importSyntheticModels, type SyntheticModelName } from "./models/synthetic/synthetic-models.js";
import { VERSION } from "./version.js";

/** The built-in default sweep, shipped with the package. */
export const QUICKSTART = fileURLToPath(new URL("../configs/quickstart.yaml", import.meta.url));

/** A command-line mistake: exit code 2. */
class UsageError extends Error {
  readonly exitCode = 2;
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

/**
 * A yargs `coerce` for a numeric flag (declared as a string, so the message can quote what was
 * typed): refuses text, NaN, fractions where integers are wanted and values out of range, naming
 * the flag. Applied to defaults too; undefined stays undefined.
 */
function numberFlag(flag: string, rule: NumberRule) {
  return (value: unknown): number => {
    if (value === undefined) return undefined as unknown as number;
    const text = String(Array.isArray(value) ? value[value.length - 1] : value).trim();
    const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
    const ok = Number.isFinite(n) && (!rule.integer || Number.isSafeInteger(n))
      && (rule.min === undefined || (rule.exclusiveMin ? n > rule.min : n >= rule.min));
    if (!ok) throw new UsageError(`--${flag}: expected ${rule.what} (got '${text}')`);
    return n;
  };
}

const positiveInteger = (flag: string) => numberFlag(flag, { integer: true, min: 1, what: "a positive integer" });
const nonNegativeInteger = (flag: string) => numberFlag(flag, { integer: true, min: 0, what: "a non-negative integer" });
const positiveSeconds = (flag: string) => numberFlag(flag, { min: 0, exclusiveMin: true, what: "a positive number of seconds" });

/** A yargs `coerce` for a flag naming a file that must exist and be readable now: the message names the flag. */
function readableFile(flag: string) {
  return (value: unknown): string => {
    if (value === undefined) return undefined as unknown as string;
    const file = String(Array.isArray(value) ? value[value.length - 1] : value);
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

/** The most values `sweep noise --seed` writes (1 GiB of float32): a shape beyond it cannot be held in memory. */
const MAX_NOISE_VALUES = 2 ** 28;

function withConfig<T>(y: Argv<T>) {
  return y
    .positional("config", { type: "string", describe: "Sweep YAML file", default: path.relative(process.cwd(), QUICKSTART) })
    .option("set", { type: "string", array: true, default: [] as string[], describe: "Override a field: path=value (YAML value), e.g. budgets=[10,20]" });
}

function parseShape(text: string): number[] {
  const dims = text.split(/[,x ]+/).filter(Boolean).map((d) => (/^\d+$/.test(d) ? Number(d) : NaN));
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new UsageError(`--shape: expected positive integers separated by commas, e.g. 1,128,64,64 (got '${text}')`);
  }
  const values = dims.reduce((a, b) => a * b, 1);
  if (values > MAX_NOISE_VALUES) {
    throw new UsageError(`--shape: ${dims.join("x")} is ${values.toExponential(2)} values; one noise file holds at most ${MAX_NOISE_VALUES} (2^28, 1 GiB of float32) (got '${text}')`);
  }
  return dims;
}

/** The flags of `sweep run` that the printed resume command repeats: how the run reached its workers. */
function resumeFlags(args: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const flag of ["workers", "workers-file", "tls-ca", "tls-cert", "tls-key", "threads", "model-root"]) {
    if (args[flag] !== undefined) flags.push(`--${flag}`, String(args[flag]));
  }
  return flags;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName("sweep")
    .version(VERSION)
    .strict()
    .demandCommand(1, "name a command: run, worker, plan, report, noise, render or models")
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .command("run [config]", "Run a sweep: every search, every evaluation recorded", (y) => withConfig(y)
      .option("run-dir", { type: "string", describe: "Run folder (default: <output>/<name>/<run id>)" })
      .option("resume", { type: "string", describe: "Finish the run in this folder (after a crash or stop): dispatches only what is missing" })
      .option("force", { type: "boolean", default: false, describe: "With --resume: accept a changed config" })
      .option("threads", { type: "string", coerce: positiveInteger("threads"), describe: "Threads of the local worker started when no workers are named (default: config threads, else CPU cores)" })
      .option("workers", { type: "string", describe: "gRPC workers, HOST:PORT or dns:NAME:PORT (every address NAME resolves to), comma separated (default: the config's workers, else a local worker)" })
      .option("workers-file", { type: "string", coerce: readableFile("workers-file"), describe: "A file of HOST:PORT (or dns:NAME:PORT) lines, re-read while running: new lines join, removed lines drain" })
      .option("token", { type: "string", describe: "Shared token the workers require (default: $SWEEP_TOKEN)" })
      .option("tls-ca", { type: "string", coerce: readableFile("tls-ca"), describe: "Use TLS to the workers, verifying them with this CA certificate (PEM)" })
      .option("tls-cert", { type: "string", coerce: readableFile("tls-cert"), describe: "Client certificate (PEM), for workers that ask for one" })
      .option("tls-key", { type: "string", coerce: readableFile("tls-key"), describe: "Client key (PEM)" })
      .option("worker-wait", { type: "string", default: "60", coerce: positiveSeconds("worker-wait"), describe: "Seconds to wait for a first worker" })
      .option("log-every", { type: "string", default: "10", coerce: positiveSeconds("log-every"), describe: "Seconds between progress lines when not on a terminal" })
      .option("model-root", { type: "string", describe: "Model root of the local worker: model directories (flux2-pickscore's `model`) and modules resolve inside it (default: $SWEEP_MODEL_ROOT, else the config's folder)" }),
    async (args) => {
      if (args.resume && args["run-dir"]) throw new UsageError("--resume names the run folder already; drop --run-dir");
      if (args.workers && args["workers-file"]) throw new UsageError("give --workers or --workers-file, not both");
      // The coordinator's live heap is small (about 30 MB at any scale) but it allocates fast; V8's
      // default lets the heap grow up to 4x between full collections, so resident memory would climb
      // by 80+ MB in a fast run. Growing by 20% keeps it flat for a few percent more GC time. Set once
      // the config is loaded: set before, bench/dispatch.mjs measured 36 MB of growth instead of 14-18.
      const sweep = await loadSweep(args.config, { overrides: args.set });
      setFlagsFromString("--heap-growing-percent=20");
      // First signal: stop gracefully (the run ends interrupted, resumable); a second one exits at once.
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write(`\n${signal}: stopping; evaluations in flight are dropped, recorded ones are kept (again to force)\n`);
        stop.abort();
      };
      const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
      for (const s of signals) process.on(s, onSignal);
      const outcome = await runSweep(sweep, {
        runDir: args["run-dir"],
        resume: args.resume,
        force: args.force,
        threads: args.threads,
        workers: args.workers ? parseWorkerList(args.workers) : undefined,
        workersFile: args["workers-file"],
        token: args.token ?? process.env.SWEEP_TOKEN,
        tls: args["tls-ca"] ? {
          ca: readFileSync(args["tls-ca"]),
          cert: args["tls-cert"] ? readFileSync(args["tls-cert"]) : undefined,
          key: args["tls-key"] ? readFileSync(args["tls-key"]) : undefined,
        } : undefined,
        logEvery: args["log-every"],
        workerWait: args["worker-wait"],
        modelRoot: args["model-root"] ?? process.env.SWEEP_MODEL_ROOT,
        resumeFlags: resumeFlags(args),
        // This process's own script (bin/sweep.js): the local worker is started with it.
        cliEntry: process.argv[1],
        stop: stop.signal,
        measureWire: process.env.SWEEP_MEASURE_WIRE === "1",
      }).finally(() => {
        for (const s of signals) process.off(s, onSignal);
      });
      const interruptedByUser = outcome.status === "interrupted" && !outcome.error;
      exitCode = outcome.status === "completed" ? 0 : outcome.error instanceof InputError ? outcome.error.exitCode : interruptedByUser ? 130 : 1;
    })
    .command("worker", "Serve evaluations over gRPC (proto/sweep/v1/worker.proto)", (y) => y
      .option("listen", { type: "string", default: "127.0.0.1:7070", describe: "HOST:PORT; port 0 picks a free one" })
      .option("devices", { type: "string", default: "cpu", describe: "'cpu', or GPU indices such as 0,1,2,3 (one pool per device)" })
      .option("threads", { type: "string", coerce: positiveInteger("threads"), describe: "Slots per device (cpu: default CPU cores; GPU: default 1)" })
      .option("model-root", { type: "string", default: ".", describe: "Folder that module and model paths resolve inside" })
      .option("token", { type: "string", describe: "Require this shared token on every call (default: $SWEEP_TOKEN)" })
      .option("tls-cert", { type: "string", coerce: readableFile("tls-cert"), describe: "Serve TLS with this certificate (PEM)" })
      .option("tls-key", { type: "string", coerce: readableFile("tls-key"), describe: "TLS private key (PEM)" })
      .option("tls-client-ca", { type: "string", coerce: readableFile("tls-client-ca"), describe: "Require client certificates signed by this CA (PEM)" })
      .option("insecure", { type: "boolean", default: false, describe: "Allow a non-loopback address without token or TLS" })
      .option("preload", { type: "string", describe: "Model directories (names under --model-root, comma separated) to load and warm on every device before listening" })
      .option("precision", { choices: ["float32", "float16", "bfloat16"] as const, default: "float32" as const, describe: "Compute precision of the --preload models" })
      .option("verify", { type: "boolean", default: false, describe: "Check every model file's sha256 against its manifest before first use (sizes are always checked)" })
      .option("exit-with-parent", { type: "boolean", default: false, hidden: true, describe: "Exit when stdin closes" }),
    async (args) => {
      if ((args["tls-cert"] === undefined) !== (args["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
      // Every request's bytes pass through fresh buffers (HTTP/2 reads, grpc-js's message, the decoded
      // SES low bands, 8 KiB a candidate), which V8 counts towards its next full collection: with its
      // default step a worker fed SES candidates ran one several times a second. A worker's JS heap is
      // small next to its models, so it may grow to 3x its live size between collections.
      setFlagsFromString("--heap-growing-percent=200");
      const worker = await startWorker({
        listen: args.listen,
        devices: args.devices,
        threads: args.threads,
        modelRoot: args["model-root"],
        token: args.token ?? process.env.SWEEP_TOKEN,
        tls: args["tls-cert"] && args["tls-key"] ? { cert: args["tls-cert"], key: args["tls-key"], clientCa: args["tls-client-ca"] } : undefined,
        insecure: args.insecure,
        preload: args.preload ? args.preload.split(",").map((m) => m.trim()).filter(Boolean) : undefined,
        precision: args.precision,
        verify: args.verify,
      });
      process.stdout.write(`${JSON.stringify({ listening: worker.address })}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        if (args["exit-with-parent"]) {
          process.stdin.on("end", stop);
          process.stdin.on("close", stop);
          process.stdin.resume();
        }
      });
      await worker.close();
      process.stdin.destroy();
    })
    .command("plan [config]", "Count the trials, searches and evaluations of a sweep", (y) => withConfig(y), async (args) => {
      const sweep = await loadSweep(args.config, { overrides: args.set });
      const plan = planSweep(sweep);
      const rows = sweep.strategies.map((s) => {
        const searches = plan.searches.filter((x) => x.strategy.label === s.label);
        return [s.label, String(searches.length), String(searches.reduce((n, x) => n + x.trialBudgets.length, 0)), String(searches.reduce((n, x) => n + x.budget, 0))];
      });
      const saved = plan.evaluationsWithoutSharing - plan.evaluations;
      process.stdout.write([
        `sweep ${sweep.name}: ${sweep.prompts.length} prompts x ${sweep.strategies.length} strategies x ${sweep.seeds.length} seeds x ${sweep.budgets.length} budgets [${sweep.budgets.join(", ")}]`,
        textTable(["strategy", "searches", "trials", "evaluations"], rows),
        `total: ${plan.trials} trials, ${plan.searches.length} searches, ${plan.evaluations} evaluations`,
        `sharing searches across budgets saves ${saved} of ${plan.evaluationsWithoutSharing} evaluations (${plan.evaluationsWithoutSharing > 0 ? ((100 * saved) / plan.evaluationsWithoutSharing).toFixed(1) : "0"}%)`,
        `fingerprint: ${sweep.fingerprint}`,
        "",
      ].join("\n"));
    })
    .command("report <run-dir>", "Tables, paired comparisons and budget curves of a run (report.md, report.html, budget_curve.svg/png)", (y) => y
      .positional("run-dir", { type: "string", demandOption: true, describe: "A run folder (results/<name>/<run id>)" })
      .option("baseline", { type: "string", describe: "Strategy label to compare against (default: random, else the first)" })
      .option("format", { choices: ["md", "csv", "latex", "json"] as const, default: "md" as const, describe: "Also write report.csv, report.tex or report.json" })
      .option("out", { type: "string", describe: "Folder for the report files (default: the run folder)" })
      .option("resamples", { type: "string", default: "10000", coerce: numberFlag("resamples", { integer: true, min: 100, what: "an integer >= 100" }), describe: "Bootstrap resamples for the tables" })
      .option("seed", { type: "string", default: "12345", coerce: nonNegativeInteger("seed"), describe: "Bootstrap resampling seed" }),
    async (args) => {
      const report = await generateReport(args["run-dir"], { baseline: args.baseline, format: args.format as ReportFormat, out: args.out, resamples: args.resamples, seed: args.seed });
      process.stdout.write(`${terminalTable(report.data)}\n\nWrote ${report.files.join(", ")}\n`);
    })
    .command("noise", "Write torch-compatible CPU noise as a .npy file (DiffSynth's initial_noise): from a seed, or a recorded candidate of a run", (y) => y
      .option("seed", { type: "string", coerce: nonNegativeInteger("seed"), describe: "torch CPU seed" })
      .option("shape", { type: "string", coerce: (v: unknown) => (v === undefined ? undefined : parseShape(String(v))), describe: "Comma-separated shape, with --seed (default 1,128,64,64)" })
      .option("run", { type: "string", describe: "A run folder: take the noise of a recorded candidate (--search and --eval) or of every trial's best (--best)" })
      .option("search", { type: "string", describe: "With --run: a search_id from evaluations.csv, e.g. p0/ses/s3" })
      .option("eval", { type: "string", coerce: nonNegativeInteger("eval"), describe: "With --run and --search: the eval_index" })
      .option("best", { type: "boolean", describe: "With --run: the best noise of every trial at --budget, into --out-dir with an index.csv" })
      .option("budget", { type: "string", coerce: positiveInteger("budget"), describe: "With --best: which budget's trials (default: the largest)" })
      .option("dtype", { choices: ["float32", "bfloat16"] as const, default: "float32" as const, describe: "bfloat16: rounded as torch >= 2.13 draws it, stored widened to float32" })
      .option("out", { type: "string", describe: "Output .npy file (--seed, or --run with --search)" })
      .option("out-dir", { type: "string", describe: "Output folder (--run with --best)" }),
    async (args) => {
      const dtype = args.dtype as NoiseDtype;
      const outFolder = (file: string) => {
        if (!existsSync(path.dirname(path.resolve(file)))) throw new UsageError(`--out: folder ${path.dirname(file)} does not exist`);
        return file;
      };
      if ((args.seed === undefined) === (args.run === undefined)) throw new UsageError("give --seed (a fresh noise) or --run (a recorded candidate), one of them");
      if (args.seed !== undefined) {
        if (!args.out) throw new UsageError("--seed needs --out FILE.npy");
        const shape = args.shape ?? [1, 128, 64, 64];
        const noise = torchRandn(args.seed, shape.reduce((a, b) => a * b, 1));
        writeNpy(outFolder(args.out), dtype === "bfloat16" ? roundToBfloat16(noise) : noise, shape);
        process.stderr.write(`wrote ${args.out}: torch.randn([${shape}], generator=torch.Generator("cpu").manual_seed(${args.seed}))${dtype === "bfloat16" ? " rounded to bfloat16" : ""}\n`);
        return;
      }
      if (args.shape !== undefined) throw new UsageError("--shape goes with --seed; with --run the shape is the run's");
      if (args.best) {
        if (args.search !== undefined || args.eval !== undefined) throw new UsageError("--best writes every trial's best; drop --search and --eval");
        if (!args["out-dir"]) throw new UsageError("--best needs --out-dir FOLDER");
        const { files, index } = await exportBestNoises(args.run!, args["out-dir"], dtype, args.budget);
        process.stderr.write(`wrote ${files} best noises to ${args["out-dir"]} (which trial each is: ${index})\n`);
        return;
      }
      if (args.search === undefined || args.eval === undefined || !args.out) throw new UsageError("--run needs --search ID --eval N --out FILE.npy, or --best --out-dir FOLDER");
      const { noiseSeed, score } = await exportCandidateNoise(args.run!, args.search, args.eval, outFolder(args.out), dtype);
      process.stderr.write(`wrote ${args.out}: ${args.search} eval ${args.eval} (noise_seed ${noiseSeed}, score ${score ?? "none: the evaluation failed"})\n`);
    })
    .command("render", "Render the image of a recorded candidate of a flux2-pickscore run, as PNG (the image counterpart of noise --run)", (y) => y
      .option("run", { type: "string", demandOption: true, describe: "A run folder" })
      .option("search", { type: "string", demandOption: true, describe: "A search_id from evaluations.csv, e.g. p0/ses/s3" })
      .option("eval", { type: "string", demandOption: true, coerce: nonNegativeInteger("eval"), describe: "The eval_index" })
      .option("out", { type: "string", demandOption: true, describe: "Output .png file" })
      .option("model-root", { type: "string", describe: "Where the run's model directory is (default: $SWEEP_MODEL_ROOT, else the run's config folder)" })
      .option("device", { type: "string", default: "cpu", describe: "'cpu' or a GPU index" })
      .check((a) => {
        if (a.device !== "cpu" && !/^\d+$/.test(a.device)) throw new UsageError(`--device: expected 'cpu' or a GPU index (got '${a.device}')`);
        if (!existsSync(path.dirname(path.resolve(a.out)))) throw new UsageError(`--out: folder ${path.dirname(a.out)} does not exist`);
        return true;
      }),
    async (args) => {
      const manifestRoot = () => path.dirname(readRunManifest(args.run).config_file);
      const modelRoot = args["model-root"] ?? process.env.SWEEP_MODEL_ROOT ?? manifestRoot();
      const device = args.device === "cpu" ? { kind: "cpu" as const, index: 0, intraOpThreads: availableParallelism() } : { kind: "gpu" as const, index: Number(args.device), intraOpThreads: 1 };
      const r = await renderCandidate(args.run, args.search, args.eval, args.out, { modelRoot, device });
      const check = r.recorded === null ? "the recorded evaluation failed" : r.score === r.recorded ? "as recorded" : `recorded ${r.recorded}: this device computes differently`;
      process.stderr.write(`wrote ${args.out}: ${args.search} eval ${args.eval} (noise_seed ${r.noiseSeed}), score ${r.score} (${check})\n`);
    })
    .command("models", "Model directories for the flux2-pickscore evaluator", (y) => y
      .command("import", "Build a model directory (ONNX graphs, weights, tokenizers, manifest) from downloaded checkpoints, or synthetic ones", (z) => z
        .option("flux2", { type: "string", describe: "FLUX.2-klein folder (transformer/, text_encoder/, vae/, tokenizer/)" })
        .option("pickscore", { type: "string", describe: "PickScore_v1 folder (config.json, model.safetensors)" })
        .option("processor", { type: "string", describe: "CLIP processor folder (preprocessor_config.json, tokenizer files), e.g. laion/CLIP-ViT-H-14-laion2B-s32B-b79K" })
        .option("synthetic", { choices: SYNTHETIC_MODELS, describe: "Seeded random weights instead of checkpoints: flux2-klein-4b (real sizes, bfloat16) or flux2-tiny" })
        .option("out", { type: "string", demandOption: true, describe: "The model directory to write (must not exist)" })
        .conflicts("synthetic", ["flux2", "pickscore", "processor"])
        .check((a) => {
          if (!a.synthetic && !(a.flux2 && a.pickscore && a.processor)) throw new UsageError("give --flux2, --pickscore and --processor (the downloaded folders), or --synthetic NAME");
          return true;
        }),
      async (args) => {
        const started = performance.now();
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const manifest = args.synthetic
          ? await importSyntheticModels(args.synthetic as SyntheticModelName, args.out, log)
          : await importModels({ flux2: args.flux2!, pickscore: args.pickscore!, processor: args.processor!, out: args.out, log });
        const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
        log(`wrote ${args.out}: ${manifest.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, weights ${manifest.weights_dtype}${manifest.synthetic ? `, synthetic (${manifest.synthetic})` : ""}, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      })
      .demandCommand(1, "name a models command: import"))
    .help();

  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof ModelInputError) {
      process.stderr.write(`sweep ${argv[0]}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof ReportInputError || e instanceof ReplayError || (e instanceof Error && e.message.startsWith("--baseline"))) {
      process.stderr.write(`sweep ${argv[0]}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof WorkerSetupError || e instanceof WorkerListError || e instanceof ConfigChangedError || (e as Error).name === "YError") {
      process.stderr.write(`sweep: ${(e as Error).message}\nRun 'sweep --help' for usage.\n`);
      return 2;
    }
    // Any other typed input error (a bad run folder or run file: RunDirError, RunFileError) says what is wrong in one line.
    if (e instanceof Error && (e as { exitCode?: unknown }).exitCode === 2) {
      process.stderr.write(`sweep ${argv[0]}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return exitCode;
}
