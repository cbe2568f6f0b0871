/** `sweep score`: PNG files scored by an imported reward, as DiffSynth-Studio's metric classes score them. */
import { availableParallelism } from "node:os";
import type { Argv } from "yargs";
import { UsageError } from "./flags.js";

export function scoreCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("score <images..>", "Score PNG images with a reward model directory (sweep models import --reward)", (c) => c
    .positional("images", { type: "string", array: true, describe: "PNG files" })
    .option("model", { type: "string", demandOption: true, describe: "A reward model directory" })
    .option("prompt", { type: "string", describe: "The prompt the images are scored for (every reward but Aesthetic needs one)" })
    .option("format", { choices: ["text", "json"] as const, default: "text" as const, describe: "json: an array of {image, reward, score[, cosine]}" })
    .option("device", { type: "string", default: "cpu", describe: "'cpu' or a GPU index" })
    .option("precision", { choices: ["float32", "float16", "bfloat16"] as const, default: "float32" as const, describe: "Compute precision of the graphs" })
    .check((a) => {
      if (a.device !== "cpu" && !/^\d+$/.test(a.device)) throw new UsageError(`--device: expected 'cpu' or a GPU index (got '${a.device}')`);
      return true;
    }),
  async (args) => {
    const [{ RewardScorer }, { readPngRgb }] = await Promise.all([import("../evaluators/rewards/reward-scorer.js"), import("../io/png-rgb.js")]);
    const device = args.device === "cpu" ? { kind: "cpu" as const, index: 0, intraOpThreads: availableParallelism() } : { kind: "gpu" as const, index: Number(args.device), intraOpThreads: 1 };
    const files = (args.images ?? []) as string[];
    const images = files.map((f) => readPngRgb(f));
    const scorer = await RewardScorer.open(args.model, args.precision, device, { log: (l) => process.stderr.write(`${l}\n`) });
    if (scorer.needsPrompt && args.prompt === undefined) throw new UsageError(`--prompt is required: the ${scorer.reward} reward scores an image for a prompt`);
    if (!scorer.needsPrompt && args.prompt !== undefined) process.stderr.write(`the ${scorer.reward} reward takes no prompt: --prompt ignored\n`);
    const rows = [];
    for (let i = 0; i < images.length; i++) {
      const [s] = await scorer.score(scorer.needsPrompt ? (args.prompt as string) : null, [images[i]]);
      rows.push({ image: files[i], reward: scorer.reward, score: s.score, ...(s.cosine !== undefined ? { cosine: s.cosine } : {}) });
    }
    await scorer.release();
    if (args.format === "json") process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
    else for (const r of rows) process.stdout.write(`${r.image}\t${r.reward}\t${r.score}${r.cosine !== undefined ? `\tcosine ${r.cosine}` : ""}\n`);
  });
}
