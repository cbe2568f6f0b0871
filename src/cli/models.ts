/** `sweep models import`: a model directory for the flux2-pickscore evaluator, from checkpoints or synthetic. */
import type { Argv } from "yargs";
import { REWARD_NAMES, SYNTHETIC_REWARD_SIZES, type SyntheticRewardSize } from "../models/rewards/reward-names.js";
import { SYNTHETIC_MODELS, type SyntheticModelName } from "../models/synthetic/synthetic-names.js";
import { requireWritableParent, UsageError } from "./flags.js";

export function modelsCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("models", "Model directories: flux2-pickscore evaluators and rewards", (c) => c
    .command("import", "Build a model directory (ONNX graphs, weights, tokenizers, manifest) from downloaded checkpoints, or synthetic ones", (z) => z
      .option("reward", { choices: REWARD_NAMES, describe: "Import a reward model directory of this kind from --from (docs/models.md)" })
      .option("from", { type: "string", describe: "With --reward: the reward's folder, e.g. DiffSynth-Studio/ImageMetrics/HPSv2 (PickScore: PickScore_v1, with --processor)" })
      .option("flux2", { type: "string", describe: "FLUX.2-klein folder (transformer/, text_encoder/, vae/, tokenizer/)" })
      .option("pickscore", { type: "string", describe: "PickScore_v1 folder (config.json, model.safetensors)" })
      .option("processor", { type: "string", describe: "CLIP processor folder (preprocessor_config.json, tokenizer files), e.g. laion/CLIP-ViT-H-14-laion2B-s32B-b79K" })
      .option("synthetic", { choices: [...SYNTHETIC_MODELS, ...SYNTHETIC_REWARD_SIZES], describe: "Seeded random weights instead of checkpoints: flux2-klein-4b (real sizes, bfloat16) or flux2-tiny; with --reward: tiny or real" })
      .option("out", { type: "string", demandOption: true, describe: "The model directory to write (must not exist)" })
      .conflicts("synthetic", ["flux2", "pickscore", "processor"])
      .conflicts("reward", ["flux2", "pickscore"])
      .check((a) => {
        const rewardSize = (SYNTHETIC_REWARD_SIZES as readonly string[]).includes(a.synthetic ?? "");
        if (a.synthetic && !!a.reward !== rewardSize) {
          throw new UsageError(a.reward ? `--reward ${a.reward} --synthetic takes ${SYNTHETIC_REWARD_SIZES.join(" or ")}` : `--synthetic ${a.synthetic} goes with --reward KIND`);
        }
        if (a.reward) {
          if (a.synthetic && a.from) throw new UsageError("give --from DIR or --synthetic SIZE, not both");
          if (!a.from && !a.synthetic) throw new UsageError(`--reward ${a.reward} needs --from DIR (the reward's folder), or --synthetic tiny|real`);
          if (a.processor && a.reward !== "pickscore") throw new UsageError(`--processor is for --reward pickscore; the ${a.reward} folder holds its own processor files`);
          return true;
        }
        if (a.from) throw new UsageError("--from goes with --reward KIND");
        if (!a.synthetic && !(a.flux2 && a.pickscore && a.processor)) throw new UsageError("give --flux2, --pickscore and --processor (the downloaded folders), or --synthetic NAME");
        requireWritableParent("out", a.out);
        return true;
      }),
    async (args) => {
      const started = performance.now();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (args.reward) {
        const m = args.synthetic
          ? await (await import("../models/rewards/synthetic-rewards.js")).importSyntheticReward(args.reward, args.synthetic as SyntheticRewardSize, args.out, log)
          : await (await import("../models/rewards/import-reward.js")).importReward({ reward: args.reward, from: args.from!, processor: args.processor, out: args.out, log });
        const mib = m.files.reduce((n, f) => n + f.bytes, 0) / 2 ** 20;
        log(`wrote ${args.out}: reward ${m.reward}, ${m.files.length} files, ${mib.toFixed(1)} MiB, weights ${m.weights_dtype}, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      const manifest = args.synthetic
        ? await (await import("../models/synthetic/synthetic-models.js")).importSyntheticModels(args.synthetic as SyntheticModelName, args.out, log)
        : await (await import("../models/import-models.js")).importModels({ flux2: args.flux2!, pickscore: args.pickscore!, processor: args.processor!, out: args.out, log });
      const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
      log(`wrote ${args.out}: ${manifest.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, weights ${manifest.weights_dtype}${manifest.synthetic ? `, synthetic (${manifest.synthetic})` : ""}, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    })
    .demandCommand(1, "name a models command: import"));
}
