/**
 * The files of a run's best candidates: `<run>/best/<search>_e<eval>.npy` (the noise) and `.png`
 * (the image, where the evaluator makes one), one per candidate whatever the number of trials it
 * is best for, and `best/index.csv` with one row per trial. `sweep noise --best` writes the same.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { requireColumns } from "./evaluations-csv.js";

export const BEST_DIR = "best";
export const BEST_INDEX = "index.csv";

export const BEST_INDEX_COLUMNS = [
  "prompt_index", "prompt", "strategy", "seed", "budget", "trial_status",
  "best_eval_index", "best_score", "best_noise_seed", "noise", "image",
] as const;

export interface BestRow {
  prompt_index: number;
  prompt: string;
  strategy: string;
  seed: number;
  budget: number;
  trial_status: string;
  best_eval_index: number;
  best_score: number;
  /** null for a noise that is no seed's */
  best_noise_seed: number | null;
  /** path relative to the run folder */
  noise: string;
  /** path relative to the run folder; empty where the evaluator makes no image */
  image: string;
}

/** A candidate's file name stem: search p0/ses/s3, eval 17 -> p0_ses_s3_e17 */
export function candidateStem(searchId: string, evalIndex: number): string {
  return `${searchId.replaceAll("/", "_")}_e${evalIndex}`;
}

/** Rows of a best/index.csv (empty when the file does not exist). */
export function readBestIndex(dir: string): BestRow[] {
  const file = path.join(dir, BEST_INDEX);
  if (!existsSync(file)) return [];
  const rows = parse(readFileSync(file), { columns: true }) as Record<string, string>[];
  return rows.map((r) => ({
    prompt_index: Number(r.prompt_index),
    prompt: r.prompt,
    strategy: r.strategy,
    seed: Number(r.seed),
    budget: Number(r.budget),
    trial_status: r.trial_status,
    best_eval_index: Number(r.best_eval_index),
    best_score: Number(r.best_score),
    best_noise_seed: r.best_noise_seed === "" ? null : Number(r.best_noise_seed),
    noise: r.noise,
    image: r.image,
  }));
}

/** What a run folder holds of best files. */
export interface BestFiles {
  /** best/index.csv's rows; null where the file does not exist */
  index: BestRow[] | null;
  /** image paths (relative to the run folder, `/`-separated) that exist as files */
  images: Set<string>;
}

/** A path from best/index.csv as a `/`-separated path inside the run folder, or null (absolute, `..`). */
export function insideRun(p: string): string | null {
  if (!p) return null;
  const n = path.posix.normalize(p.replaceAll("\\", "/"));
  if (path.posix.isAbsolute(n) || /^[A-Za-z]:/.test(n) || n === ".." || n.startsWith("../") || n === ".") return null;
  return n;
}

const isFile = (file: string) => {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** Reads `<run>/best/`: its index (columns checked: RunFileError otherwise) and which images exist. */
export function readBestFiles(runDir: string): BestFiles {
  const dir = path.join(runDir, BEST_DIR);
  const images = new Set<string>();
  if (!existsSync(dir)) return { index: null, images };
  for (const name of readdirSync(dir)) {
    if (name.toLowerCase().endsWith(".png") && isFile(path.join(dir, name))) images.add(`${BEST_DIR}/${name}`);
  }
  const file = path.join(dir, BEST_INDEX);
  if (!existsSync(file)) return { index: null, images };
  requireColumns(file, BEST_INDEX_COLUMNS);
  const index = readBestIndex(dir);
  for (const r of index) {
    const image = insideRun(r.image);
    if (image && !images.has(image) && isFile(path.join(runDir, image))) images.add(image);
  }
  return { index, images };
}
