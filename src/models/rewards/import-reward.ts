/**
 * `sweep models import --reward KIND --from DIR [--processor DIR] --out MODEL_DIR`: a reward model
 * directory from the folder a user has. The kind reads and checks its configs against the weights
 * (reward-kind.ts); this writes the directory as the FLUX.2 import does: the checkpoint linked (or
 * copied) under weights/, the graphs in every compute precision pointing at it as external data, the
 * tokenizer and processor files copied as they are, digests, the manifest, all in a temporary folder
 * renamed at the end (a failed import leaves nothing).
 */
import { writeModelFolder } from "../model-folder.js";
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { VERSION } from "../../version.js";
import { digestFiles, linkOrCopy, PRECISIONS } from "../import-models.js";
import { GRAPH_VERSION, MANIFEST_FILE, MANIFEST_FORMAT } from "../manifest.js";
import { GraphBuilder } from "../onnx/graph-builder.js";
import { Checkpoint } from "../safetensors.js";
import type { ParsedReward, RewardKind, RewardSources } from "./reward-kind.js";
import type { RewardManifest } from "./reward-manifest.js";
import { rewardKind } from "./registry.js";

export interface RewardImportOptions extends RewardSources {
  reward: string;
  out: string;
  /** the synthetic model's name when the sources are generated (its manifest says so) */
  synthetic?: string;
  log?: (line: string) => void;
}

export async function importReward(opts: RewardImportOptions): Promise<RewardManifest> {
  const log = opts.log ?? (() => {});
  const kind = rewardKind(opts.reward);
  const parsed = kind.parse(opts);
  return writeModelFolder(
    opts.out,
    (tmp) => writeRewardDir(kind, parsed, opts, tmp, log),
    (message, tmp) => message.replaceAll(path.join(tmp, "weights", "reward"), parsed.weightsDir),
  );
}

async function writeRewardDir(kind: RewardKind<ParsedReward>, parsed: ParsedReward, opts: RewardImportOptions, dir: string, log: (line: string) => void): Promise<RewardManifest> {
  const source = new Checkpoint(parsed.weightsDir, parsed.weightsStem);
  const weightsDir = path.join(dir, "weights", "reward");
  mkdirSync(weightsDir, { recursive: true });
  const sourceFiles = [...source.files];
  const index = path.join(parsed.weightsDir, `${parsed.weightsStem}.safetensors.index.json`);
  if (existsSync(index)) sourceFiles.push(index);
  for (const f of sourceFiles) linkOrCopy(f, path.join(weightsDir, path.basename(f)));
  const checkpoint = new Checkpoint(weightsDir, parsed.weightsStem);
  const weights = kind.weights(parsed, checkpoint);

  const builders = kind.graphs(parsed);
  const graphs: RewardManifest["graphs"] = {};
  for (const precision of PRECISIONS) {
    const set: NonNullable<RewardManifest["graphs"][typeof precision]> = {};
    for (const [name, build] of Object.entries(builders)) {
      const b = new GraphBuilder({ name: `${name}_${precision}`, compute: precision, weights, location: (f) => path.relative(dir, f) });
      build(b);
      const file = precision === "float32" ? `${name}.onnx` : `${name}.${precision}.onnx`;
      writeFileSync(path.join(dir, file), b.encode());
      set[name] = { file, ...b.describe() };
    }
    graphs[precision] = set;
  }
  log(`graphs of ${Object.keys(builders).join(", ")} built (${PRECISIONS.join(", ")})`);
  if (parsed.tokenizerDir) copyTokenizerFiles(parsed.tokenizerDir, path.join(dir, "tokenizer"));

  const { files, digests } = await digestFiles(dir);
  const dtypes = new Set([...checkpoint.tensors.values()].map((t) => t.dtype).filter((d) => d !== "I64"));
  const manifest: RewardManifest = {
    format: MANIFEST_FORMAT,
    kind: "reward",
    reward: kind.name,
    graph_version: GRAPH_VERSION,
    tool_version: VERSION,
    created: new Date().toISOString(),
    synthetic: opts.synthetic ?? null,
    sources: {
      reward: {
        dir: opts.synthetic ? `sweep models import --reward ${kind.name} --synthetic ${opts.synthetic}` : path.resolve(parsed.weightsDir),
        files: sourceFiles.map((f) => ({ path: path.basename(f), bytes: statSync(f).size, sha256: digests.get(path.join(weightsDir, path.basename(f))) as string })),
      },
    },
    files,
    graphs,
    weights_dtype: dtypes.has("BF16") ? "bfloat16" : dtypes.has("F16") ? "float16" : "float32",
    constants: kind.constants(parsed, checkpoint),
    tokenizer: parsed.tokenizerDir ? "tokenizer" : null,
  };
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** The tokenizer's and processor's files (a reward's folder also holds its weights: those are linked, not copied). */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "vocab.txt", "preprocessor_config.json", "processor_config.json"];

function copyTokenizerFiles(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of TOKENIZER_FILES) if (existsSync(path.join(from, name))) copyFileSync(path.join(from, name), path.join(to, name));
}
