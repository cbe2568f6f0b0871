/** `sweep rescore`: the held-out check of a finished flux2 run (src/coordinator/rescore.ts). */
import path from "node:path";
import type { Argv } from "yargs";
import { parseWorkerList } from "../coordinator/workers/worker-list.js";
import { positiveInteger, UsageError } from "./flags.js";
import { stopOnSignals } from "./run.js";

export function rescoreCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("rescore <run>", "Score a finished flux2 run's best candidates and base noises with held-out rewards (heldout.csv)", (c) => c
    .positional("run", { type: "string", demandOption: true, describe: "A run folder" })
    .option("heldout", { type: "string", demandOption: true, describe: "Reward model directories under the model root, comma separated" })
    .option("model-root", { type: "string", describe: "Model root of the local worker (default: $SWEEP_MODEL_ROOT, else the run's config folder)" })
    .option("workers", { type: "string", describe: "gRPC workers, HOST:PORT, comma separated (default: a local worker)" })
    .option("threads", { type: "string", coerce: positiveInteger("threads"), describe: "Threads of the local worker" })
    .option("token", { type: "string", describe: "Shared token the workers require (default: $SWEEP_TOKEN)" })
    .check((a) => {
      const names = a.heldout.split(",").map((s) => s.trim());
      if (names.some((n) => n === "")) throw new UsageError("--heldout: expected reward model names, comma separated");
      if (new Set(names).size !== names.length) throw new UsageError("--heldout: a reward is named twice");
      return true;
    }),
  async (args) => {
    const log = (line: string) => process.stderr.write(`[sweep] ${line}\n`);
    const [{ rescoreRun }, { generateReport }] = await Promise.all([import("../coordinator/rescore.js"), import("../report/generate.js")]);
    const stop = stopOnSignals();
    try {
      const r = await rescoreRun(args.run as string, {
        heldout: args.heldout.split(",").map((s) => s.trim()),
        workers: args.workers ? parseWorkerList(args.workers) : undefined,
        threads: args.threads,
        token: args.token ?? process.env.SWEEP_TOKEN,
        modelRoot: args["model-root"] ?? process.env.SWEEP_MODEL_ROOT,
        cliEntry: process.argv[1],
        stop: stop.signal,
        log,
      });
      log(`heldout.csv: ${r.scored} candidates scored now, ${r.candidates - r.scored - r.failed} recorded before${r.failed > 0 ? `, ${r.failed} failed` : ""}`);
      const report = await generateReport(args.run as string);
      log(`report with its held-out section: ${report.files.map((f) => path.basename(f)).join(", ")}`);
    } finally {
      stop.release();
    }
  });
}
