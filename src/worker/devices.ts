/** The devices a worker owns: one DevicePool each, the GPUs checked before anything is served. */
import { availableParallelism } from "node:os";
import { checkCudaProvider, deviceRuntime, type DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import { DevicePool } from "./device-pool.js";
import { WorkerSetupError } from "./worker-setup-error.js";

export interface DeviceSlots {
  id: string;
  kind: "cpu" | "gpu";
  slots: number;
  target: DeviceTarget;
}

export interface Device {
  id: string;
  kind: "cpu" | "gpu";
  pool: DevicePool;
  /** What Describe reports of it: execution provider, runtime, name. */
  runtime: ReturnType<typeof deviceRuntime>;
}

/**
 * "cpu" (one device, `threads` slots, default: the cores) or distinct GPU indices such as
 * "0,1,2,3" (`threads` slots each, default 1).
 */
export function parseDevices(spec: string, threads: number | undefined): DeviceSlots[] {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new WorkerSetupError(`${threads} threads per device: expected a positive integer`, "--threads");
  }
  if (spec === "cpu") {
    const slots = threads ?? availableParallelism();
    // onnxruntime's own threads share the cores among the pool's slots
    const intraOpThreads = Math.max(1, Math.floor(availableParallelism() / slots));
    return [{ id: "cpu", kind: "cpu", slots, target: { kind: "cpu", index: 0, intraOpThreads } }];
  }
  const ids = spec.split(",").map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id)) || new Set(ids).size !== ids.length) {
    throw new WorkerSetupError(`devices '${spec}': expected 'cpu' or distinct GPU indices such as 0,1,2,3`, "--devices");
  }
  return ids.map((id) => ({ id, kind: "gpu", slots: threads ?? 1, target: { kind: "gpu", index: Number(id), intraOpThreads: 1 } }));
}

/** A pool per device; a GPU whose CUDA provider cannot start refuses the worker before any thread starts. */
export async function openDevices(parsed: DeviceSlots[]): Promise<Device[]> {
  for (const d of parsed) {
    if (d.kind !== "gpu") continue;
    try {
      await checkCudaProvider(d.target.index);
    } catch (e) {
      throw new WorkerSetupError((e as Error).message, "--devices");
    }
  }
  return parsed.map((d) => ({ id: d.id, kind: d.kind, pool: new DevicePool(d.slots, d.id, d.target), runtime: deviceRuntime(d.target) }));
}

/** The device with the smallest share of its slots in use. */
export function leastBusy(devices: Device[]): Device {
  return devices.reduce((a, b) => (b.pool.busy / b.pool.capacity < a.pool.busy / a.pool.capacity ? b : a));
}

export async function closeDevices(devices: Device[]): Promise<void> {
  await Promise.all(devices.map((d) => d.pool.close()));
}
