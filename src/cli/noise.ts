/** `sweep noise`: torch-compatible CPU noise as .npy, from a seed or from a recorded candidate of a run. */
import type { Argv } from "yargs";
import type { NoiseDtype } from "../io/npy.js";
import { nonNegativeInteger, positiveInteger, requireOutFolder, UsageError } from "./flags.js";

/** The most values `sweep noise --seed` writes (1 GiB of float32): a shape beyond it cannot be held in memory. */
const MAX_NOISE_VALUES = 2 ** 28;

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

export function noiseCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("noise", "Write torch-compatible CPU noise as a .npy file (DiffSynth's initial_noise): from a seed, or a recorded candidate of a run", (c) => c
    .option("seed", { type: "number", coerce: nonNegativeInteger("seed"), describe: "torch CPU seed" })
    .option("shape", { type: "string", coerce: (v: unknown) => (v === undefined ? undefined : parseShape(String(v))), describe: "Comma-separated shape, with --seed (default 1,128,64,64)" })
    .option("run", { type: "string", describe: "A run folder: take the noise of a recorded candidate (--search and --eval) or of every trial's best (--best)" })
    .option("search", { type: "string", describe: "With --run: a search_id from evaluations.csv, e.g. p0/ses/s3" })
    .option("eval", { type: "number", coerce: nonNegativeInteger("eval"), describe: "With --run and --search: the eval_index" })
    .option("best", { type: "boolean", describe: "With --run: the best noise of every trial at --budget, into --out-dir with an index.csv" })
    .option("budget", { type: "number", coerce: positiveInteger("budget"), describe: "With --best: which budget's trials (default: the largest)" })
    .option("dtype", { choices: ["float32", "bfloat16"] as const, default: "float32" as const, describe: "bfloat16: rounded as torch >= 2.13 draws it, stored widened to float32" })
    .option("out", { type: "string", describe: "Output .npy file (--seed, or --run with --search)" })
    .option("out-dir", { type: "string", describe: "Output folder (--run with --best)" })
    // Which flags go together depends on the source (--seed, --run --search, --run --best): one check says which is missing.
    .check((a) => {
      if ((a.seed === undefined) === (a.run === undefined)) throw new UsageError("give --seed (a fresh noise) or --run (a recorded candidate), one of them");
      if (a.seed !== undefined) {
        if (!a.out) throw new UsageError("--seed needs --out FILE.npy");
        requireOutFolder(a.out);
        return true;
      }
      if (a.shape !== undefined) throw new UsageError("--shape goes with --seed; with --run the shape is the run's");
      if (a.best) {
        if (a.search !== undefined || a.eval !== undefined) throw new UsageError("--best writes every trial's best; drop --search and --eval");
        if (!a["out-dir"]) throw new UsageError("--best needs --out-dir FOLDER");
        return true;
      }
      if (a.search === undefined || a.eval === undefined || !a.out) throw new UsageError("--run needs --search ID --eval N --out FILE.npy, or --best --out-dir FOLDER");
      requireOutFolder(a.out);
      return true;
    }),
  async (args) => {
    const dtype = args.dtype as NoiseDtype;
    if (args.seed !== undefined) {
      const [{ writeNoiseNpy }, { torchRandn }] = await Promise.all([import("../io/npy.js"), import("../noise/torch-generator.js")]);
      const shape = args.shape ?? [1, 128, 64, 64];
      writeNoiseNpy(args.out!, torchRandn(args.seed, shape.reduce((a, b) => a * b, 1)), shape, dtype);
      process.stderr.write(`wrote ${args.out}: torch.randn([${shape}], generator=torch.Generator("cpu").manual_seed(${args.seed}))${dtype === "bfloat16" ? " rounded to bfloat16" : ""}\n`);
    } else if (args.best) {
      const { exportBestNoises } = await import("../report/noise-export.js");
      const { files, index } = await exportBestNoises(args.run!, args["out-dir"]!, dtype, args.budget);
      process.stderr.write(`wrote ${files} best noises to ${args["out-dir"]} (which trial each is: ${index})\n`);
    } else {
      const { exportCandidateNoise } = await import("../report/noise-export.js");
      const { noiseSeed, score } = await exportCandidateNoise(args.run!, args.search!, args.eval!, args.out!, dtype);
      process.stderr.write(`wrote ${args.out}: ${args.search} eval ${args.eval} (noise_seed ${noiseSeed ?? "none"}, score ${score ?? "none: the evaluation failed"})\n`);
    }
  });
}
