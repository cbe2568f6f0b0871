/**
 * The memory check of a flux2 spec on one device, before its models load: the estimate
 * (models/memory-estimate.ts), with the reward models each slot holds beside them, for every slot
 * of the device against the device's memory; a spec that cannot fit is refused (fatal: no retry
 * helps) naming the largest max_batch that fits.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { estimateMemory, gib, largestFittingBatch, rewardWeightBytes, type MemoryEstimate } from "../models/memory-estimate.js";
import { GRAPH_NAMES, readManifest, type GraphName } from "../models/manifest.js";
import { readRewardManifest } from "../models/rewards/reward-manifest.js";
import { ModelInputError } from "../models/model-error.js";
import type { DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";

/** A GPU's memory (total, or free now) from nvidia-smi, a CPU's available memory; undefined when it cannot be known. */
export function deviceMemoryBytes(device: DeviceTarget, which: "total" | "free" = "total"): number | undefined {
  if (device.kind === "cpu") {
    const line = /^MemAvailable:\s+(\d+) kB/m.exec(safeRead("/proc/meminfo"));
    return line ? Number(line[1]) * 1024 : freemem();
  }
  try {
    const out = execFileSync("nvidia-smi", [`--query-gpu=memory.${which}`, "--format=csv,noheader,nounits", "-i", String(device.index)], { encoding: "utf8", timeout: 5000 });
    const mib = Number(out.trim());
    return Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : undefined;
  } catch {
    return undefined;
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/**
 * The manifests' figures the estimate of one slot needs: the FLUX.2 model's graphs, and the reward
 * models a slot holds (the spec's objective and held-out ones, and `heldoutDirs`); undefined without
 * graphs of the spec's precision.
 */
function slotInputs(spec: Flux2PickScoreSpec, heldoutDirs: string[] = []) {
  const manifest = readManifest(spec.model_dir as string);
  const graphs = manifest.graphs[spec.precision];
  if (!graphs) return undefined;
  const weights = Object.fromEntries(GRAPH_NAMES.map((g) => [g, graphs[g].weight_bytes])) as Record<GraphName, number>;
  const rewardDirs = new Set([...(spec.reward_dir ? [spec.reward_dir] : []), ...(spec.heldout_dirs ?? []), ...heldoutDirs]);
  const rewards = [...rewardDirs].reduce((n, dir) => n + rewardWeightBytes(readRewardManifest(dir), spec.precision), 0);
  return { dimensions: manifest.dimensions, weights, rewards, query: { precision: spec.precision, height: spec.height, width: spec.width } };
}

/** One slot's estimate for the spec on this kind of device (its reward models included). */
export function slotEstimate(spec: Flux2PickScoreSpec, device: DeviceTarget, inputs = slotInputs(spec)): MemoryEstimate | undefined {
  return inputs && estimateMemory(inputs.dimensions, inputs.weights, { ...inputs.query, batch: spec.max_batch }, device.kind, inputs.rewards);
}

const weightsText = (est: MemoryEstimate) => `weights ${gib(est.weights)}${est.rewardWeights > 0 ? ` (reward models ${gib(est.rewardWeights)})` : ""}`;

/**
 * Throws a ModelInputError when `slots` sessions of the spec, each with the held-out reward models
 * `heldoutDirs`, would not fit the device's memory.
 */
export function checkDeviceMemory(spec: Flux2PickScoreSpec, device: DeviceTarget, slots: number, opts: { heldoutDirs?: string[]; memory?: number } = {}): void {
  const memory = opts.memory ?? deviceMemoryBytes(device);
  if (memory === undefined) return;
  const inputs = slotInputs(spec, opts.heldoutDirs);
  const est = slotEstimate(spec, device, inputs);
  if (!inputs || !est || slots * est.total <= memory) return;
  const fits = largestFittingBatch(inputs.dimensions, inputs.weights, inputs.query, device.kind, slots, memory, inputs.rewards);
  const where = device.kind === "gpu" ? `GPU ${device.index} has ${gib(memory)}` : `this machine has ${gib(memory)} available`;
  const perSlot = slots > 1 ? ` per slot x ${slots} slots` : "";
  throw new ModelInputError(
    `${spec.model} at ${spec.height}x${spec.width} in ${spec.precision}, max_batch ${spec.max_batch}: needs about ${gib(est.total)}${perSlot} ` +
      `(${weightsText(est)}, activations ${gib(est.total - est.weights)}), ${where}: ` +
      (fits > 0 ? `the largest max_batch that fits is ${fits}` : "no max_batch fits (a smaller image, fewer slots per device or a larger device)"),
  );
}

/**
 * Whether the device has room now for one more slot of the spec (a thread replacing one stuck in a
 * run loads the models again while the old copy is still held); true when it cannot be known.
 */
export function roomForAnotherSlot(spec: Flux2PickScoreSpec, device: DeviceTarget, heldoutDirs: string[] = [], free = deviceMemoryBytes(device, "free")): boolean {
  try {
    const est = slotEstimate(spec, device, slotInputs(spec, heldoutDirs));
    return free === undefined || !est || est.total <= free;
  } catch {
    return true;
  }
}

/** onnxruntime's allocation failures (CPU arena, CUDA's BFC arena, cudaMalloc, std::bad_alloc). */
const OUT_OF_MEMORY = /Failed to allocate memory|bad_alloc|out of memory|cudaErrorMemoryAllocation|Available memory of \d+ is smaller than requested/i;

export function isOutOfMemory(message: string): boolean {
  return OUT_OF_MEMORY.test(message);
}

/**
 * A batch that ran out of memory, in one line: max_batch, the estimate, and onnxruntime's own first
 * line. Retrying in halves cannot help (every half runs padded to max_batch).
 */
export function outOfMemoryMessage(spec: Flux2PickScoreSpec, device: DeviceTarget, error: string): string {
  const first = error.split("\n")[0];
  let estimate = "";
  try {
    const est = slotEstimate(spec, device);
    if (est) estimate = ` (estimate ${gib(est.total)} per device slot: ${weightsText(est)}, activations ${gib(est.total - est.weights)})`;
  } catch {
    // the estimate is a courtesy: the failure is reported without it
  }
  return `out of memory at max_batch ${spec.max_batch}, ${spec.height}x${spec.width} ${spec.precision}${estimate}: lower max_batch or the threads per device (onnxruntime: ${first})`;
}
