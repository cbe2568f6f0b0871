/**
 * A FLUX.2 model directory is checked once per worker (file sizes; digests too with `verify`)
 * before its first load, and reported by Describe from then on.
 */
import path from "node:path";
import { readManifest, sha256File, verifyModelFiles } from "../models/manifest.js";
import { readRewardManifest } from "../models/rewards/reward-manifest.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";

export interface ModelDigest {
  name: string;
  sha256: string;
  synthetic: string;
}

export class ModelChecks {
  private readonly checked = new Map<string, Promise<void>>();
  private readonly digests = new Map<string, ModelDigest>();

  constructor(private readonly verify: boolean, private readonly log: (line: string) => void) {}

  /** Resolves once the spec's model directory has passed its check; a failed check is tried again next time. */
  check(spec: Flux2PickScoreSpec, heldoutDirs: string[] = []): Promise<void> {
    const rewards = [...new Set([...(spec.reward_dir ? [spec.reward_dir] : []), ...(spec.heldout_dirs ?? []), ...heldoutDirs])];
    return Promise.all([this.checkModel(spec), ...rewards.map((dir) => this.checkReward(dir))]).then(() => {});
  }

  /** A reward model directory: its manifest says reward, its files are there (and their digests match, with verify). */
  private checkReward(dir: string): Promise<void> {
    let checked = this.checked.get(dir);
    if (!checked) {
      checked = (async () => {
        const manifest = readRewardManifest(dir);
        await verifyModelFiles(dir, manifest, this.verify);
        const sha256 = await sha256File(path.join(dir, "manifest.json"));
        this.digests.set(dir, { name: path.basename(dir), sha256, synthetic: manifest.synthetic ?? "" });
      })();
      this.checked.set(dir, checked);
      checked.catch(() => this.checked.delete(dir));
    }
    return checked;
  }

  private checkModel(spec: Flux2PickScoreSpec): Promise<void> {
    const dir = spec.model_dir as string;
    let checked = this.checked.get(dir);
    if (!checked) {
      checked = this.run(spec, dir);
      this.checked.set(dir, checked);
      checked.catch(() => this.checked.delete(dir));
    }
    return checked;
  }

  /** The models checked so far: name, manifest digest, synthetic name. */
  loaded(): ModelDigest[] {
    return [...this.digests.values()];
  }

  private async run(spec: Flux2PickScoreSpec, dir: string): Promise<void> {
    const started = performance.now();
    const manifest = readManifest(dir);
    await verifyModelFiles(dir, manifest, this.verify);
    const sha256 = await sha256File(path.join(dir, "manifest.json"));
    this.digests.set(dir, { name: spec.model, sha256, synthetic: manifest.synthetic ?? "" });
    if (this.verify) this.log(`verified ${spec.model}: every file's sha256 matches its manifest (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
