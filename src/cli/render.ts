/** `sweep render`: the image of a recorded candidate of a flux2-pickscore run, as PNG. */
import { availableParallelism } from "node:os";
import path from "node:path";
import type { Argv } from "yargs";
import { renderCandidate } from "../report/candidate-image.js";
import { readRunManifest } from "../results/manifest.js";
import { nonNegativeInteger, requireOutFolder, UsageError } from "./flags.js";

export function renderCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("render", "Render the image of a recorded candidate of a flux2-pickscore run, as PNG (the image counterpart of noise --run)", (c) => c
    .option("run", { type: "string", demandOption: true, describe: "A run folder" })
    .option("search", { type: "string", demandOption: true, describe: "A search_id from evaluations.csv, e.g. p0/ses/s3" })
    .option("eval", { type: "string", demandOption: true, coerce: nonNegativeInteger("eval"), describe: "The eval_index" })
    .option("out", { type: "string", demandOption: true, describe: "Output .png file" })
    .option("model-root", { type: "string", describe: "Where the run's model directory is (default: $SWEEP_MODEL_ROOT, else the run's config folder)" })
    .option("device", { type: "string", default: "cpu", describe: "'cpu' or a GPU index" })
    .check((a) => {
      if (a.device !== "cpu" && !/^\d+$/.test(a.device)) throw new UsageError(`--device: expected 'cpu' or a GPU index (got '${a.device}')`);
      requireOutFolder(a.out);
      return true;
    }),
  async (args) => {
    const manifestRoot = () => path.dirname(readRunManifest(args.run).config_file);
    const modelRoot = args["model-root"] ?? process.env.SWEEP_MODEL_ROOT ?? manifestRoot();
    const device = args.device === "cpu" ? { kind: "cpu" as const, index: 0, intraOpThreads: availableParallelism() } : { kind: "gpu" as const, index: Number(args.device), intraOpThreads: 1 };
    const r = await renderCandidate(args.run, args.search, args.eval, args.out, { modelRoot, device });
    const check = r.recorded === null ? "the recorded evaluation failed" : r.score === r.recorded ? "as recorded" : `recorded ${r.recorded}: this device computes differently`;
    process.stderr.write(`wrote ${args.out}: ${args.search} eval ${args.eval} (noise_seed ${r.noiseSeed ?? "none"}), score ${r.score} (${check})\n`);
  });
}
