/** `sweep models import`: a model directory for the flux2-pickscore evaluator, from checkpoints or synthetic. */
import type { Argv } from "yargs";
import { importModels } from "../models/import-models.js";
import { importSyntheticModels, SYNTHETIC_MODELS, type SyntheticModelName } from "../models/synthetic/synthetic-models.js";
import { requireWritableParent, UsageError } from "./flags.js";

export function modelsCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("models", "Model directories for the flux2-pickscore evaluator", (c) => c
    .command("import", "Build a model directory (ONNX graphs, weights, tokenizers, manifest) from downloaded checkpoints, or synthetic ones", (z) => z
      .option("flux2", { type: "string", describe: "FLUX.2-klein folder (transformer/, text_encoder/, vae/, tokenizer/)" })
      .option("pickscore", { type: "string", describe: "PickScore_v1 folder (config.json, model.safetensors)" })
      .option("processor", { type: "string", describe: "CLIP processor folder (preprocessor_config.json, tokenizer files), e.g. laion/CLIP-ViT-H-14-laion2B-s32B-b79K" })
      .option("synthetic", { choices: SYNTHETIC_MODELS, describe: "Seeded random weights instead of checkpoints: flux2-klein-4b (real sizes, bfloat16) or flux2-tiny" })
      .option("out", { type: "string", demandOption: true, describe: "The model directory to write (must not exist)" })
      .conflicts("synthetic", ["flux2", "pickscore", "processor"])
      .check((a) => {
        if (!a.synthetic && !(a.flux2 && a.pickscore && a.processor)) throw new UsageError("give --flux2, --pickscore and --processor (the downloaded folders), or --synthetic NAME");
        requireWritableParent("out", a.out);
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
    .demandCommand(1, "name a models command: import"));
}
