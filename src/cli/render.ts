/**
 * `sweep render`: the image of a recorded candidate of a flux2-pickscore run, as PNG; or, with
 * --best, every best image the run could not render, by workers as the run renders them.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import type { Argv } from "yargs";
import { nonNegativeInteger, requireOutFolder, UsageError, withWorkerFlags, workerConnection, type CommandResult, type WorkerFlagHelp } from "./flags.js";

const BEST_WORKER_FLAGS: WorkerFlagHelp = {
  workers: "With --best: gRPC workers, as for sweep run (default: a local worker)",
  "workers-file": "With --best: a file of workers, as for sweep run",
  threads: "With --best: threads of the local worker",
  token: "With --best: shared token the workers require (default: $SWEEP_TOKEN)",
  "tls-ca": "With --best: TLS to the workers, verified with this CA (PEM)",
  "tls-cert": "With --best: client certificate (PEM)",
  "tls-key": "With --best: client key (PEM)",
  "worker-wait": "With --best: seconds without any worker up before it stops",
};

export function renderCommand<T>(y: Argv<T>, result: CommandResult): Argv<T> {
  return y.command("render", "Render the image of a recorded candidate of a flux2-pickscore run, as PNG (the image counterpart of noise --run); --best: the best images the run could not render", (c) => withWorkerFlags(c
    .option("run", { type: "string", demandOption: true, describe: "A run folder" })
    .option("search", { type: "string", describe: "A search_id from evaluations.csv, e.g. p0/ses/s3" })
    .option("eval", { type: "number", coerce: nonNegativeInteger("eval"), describe: "The eval_index" })
    .option("out", { type: "string", describe: "Output .png file" })
    .option("best", { type: "boolean", describe: "Render every best image missing from the run's best/ (index.csv rows without an image), on workers" })
    .option("model-root", { type: "string", describe: "Where the run's model directory is (default: $SWEEP_MODEL_ROOT, else where the run found it, else the run's config folder)" })
    .option("device", { type: "string", default: "cpu", describe: "'cpu' or a GPU index (not with --best: the workers choose)" }), BEST_WORKER_FLAGS)
    .check((a) => {
      if (a.best) {
        if (a.search !== undefined || a.eval !== undefined || a.out !== undefined) throw new UsageError("--best renders every missing best image into the run's best/; drop --search, --eval and --out");
        return true;
      }
      if (a.search === undefined || a.eval === undefined || !a.out) throw new UsageError("give --search ID --eval N --out FILE.png, or --best");
      if (a.device !== "cpu" && !/^\d+$/.test(a.device)) throw new UsageError(`--device: expected 'cpu' or a GPU index (got '${a.device}')`);
      requireOutFolder(a.out);
      return true;
    }),
  async (args) => {
    const log = (line: string) => process.stderr.write(`[sweep] ${line}\n`);
    const modelRoot = args["model-root"] ?? (process.env.SWEEP_MODEL_ROOT || undefined);
    if (args.best) {
      const [{ NoWorkersError }, { renderBestImages }] = await Promise.all([import("../coordinator/links/grpc-executor.js"), import("../coordinator/render-best.js")]);
      try {
        const best = await renderBestImages(args.run, {
          ...workerConnection(args),
          threads: args.threads,
          modelRoot,
          cliEntry: process.argv[1],
          workerWait: args["worker-wait"],
          log,
        });
        process.stderr.write(`${best.images} best images in ${path.join(args.run, "best")}${best.missingImages > 0 ? `; ${best.missingImages} still missing (run this again)` : ""}\n`);
        if (best.missingImages > 0) result.exitCode = 1;
      } catch (e) {
        if (!(e instanceof NoWorkersError)) throw e;
        process.stderr.write(`sweep render: ${e.message}\n`);
        result.exitCode = 1;
      }
      return;
    }
    const [{ readRunManifest }, { renderCandidate }] = await Promise.all([import("../results/manifest.js"), import("../report/candidate-image.js")]);
    const manifest = readRunManifest(args.run);
    const root = modelRoot ?? manifest.model_root ?? path.dirname(manifest.config_file);
    const device = args.device === "cpu" ? { kind: "cpu" as const, index: 0, intraOpThreads: availableParallelism() } : { kind: "gpu" as const, index: Number(args.device), intraOpThreads: 1 };
    const r = await renderCandidate(args.run, args.search!, args.eval!, args.out!, { modelRoot: root, device });
    const check = r.recorded === null ? "the recorded evaluation failed" : r.score === r.recorded ? "as recorded" : `recorded ${r.recorded}: this device computes differently`;
    process.stderr.write(`wrote ${args.out}: ${args.search} eval ${args.eval} (noise_seed ${r.noiseSeed ?? "none"}), score ${r.score} (${check})\n`);
  });
}
