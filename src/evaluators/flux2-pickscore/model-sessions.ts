/**
 * A model directory opened on one device: its manifest checked, one onnxruntime session per graph
 * (created once and kept), on the CPU execution provider or CUDA's with the device's index.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS: its namespace comes through the default export under Node's ESM loader.
const { onnx } = onnxProto;
import { OPSET } from "../../models/onnx/graph-builder.js";
import { GRAPH_NAMES, readManifest, verifyModelFiles, type GraphName, type ModelManifest, type Precision } from "../../models/manifest.js";
import { ModelInputError } from "../../models/model-error.js";

export interface DeviceTarget {
  kind: "cpu" | "gpu";
  /** GPU index (CUDA device id); 0 for the CPU */
  index: number;
  /** onnxruntime intra-op threads per session, so a worker's pools don't oversubscribe its cores */
  intraOpThreads: number;
}

/** What the manifest of a run records per worker device. */
export interface RuntimeInfo {
  execution_provider: "cpu" | "cuda";
  onnxruntime: string;
  device_name: string;
  precision: Precision;
  synthetic: string | null;
}

export const CUDA_INSTALL_HINT =
  "install onnxruntime-node's CUDA provider: `npm ci --onnxruntime-node-install=cuda12`, or copy the provider libraries of " +
  "onnxruntime 1.29.0 next to libonnxruntime.so.1 (docs/models.md)";

export function sessionOptions(device: DeviceTarget): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device.kind === "gpu" ? [{ name: "cuda", deviceId: device.index }] : ["cpu"],
    intraOpNumThreads: device.intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  };
}

/** Session creation with the CUDA provider's missing-library failure said plainly. */
export async function createSession(file: string, device: DeviceTarget): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, sessionOptions(device));
  } catch (e) {
    const message = (e as Error).message;
    if (device.kind === "gpu" && /shared library|cuda/i.test(message)) {
      throw new ModelInputError(`GPU ${device.index}: the CUDA execution provider cannot start (${message.split("\n")[0]}); ${CUDA_INSTALL_HINT}`);
    }
    throw new ModelInputError(`${file}: onnxruntime cannot open it: ${message.split("\n")[0]}`);
  }
}

/** The execution provider, onnxruntime version and device name a worker reports for a device. */
export function deviceRuntime(device: DeviceTarget): { execution_provider: string; runtime: string; name: string } {
  return { execution_provider: device.kind === "gpu" ? "cuda" : "cpu", runtime: `onnxruntime ${ort.env.versions.node ?? "unknown"}`, name: deviceName(device) };
}

/** A one-node graph on the CUDA provider: fails at worker start, not at the first evaluation, without the provider libraries. */
export async function checkCudaProvider(index: number): Promise<void> {
  const T = onnx.TensorProto.DataType.FLOAT;
  const info = (name: string) => ({ name, type: { tensorType: { elemType: T, shape: { dim: [{ dimValue: 1 }] } } } });
  const model = onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 10,
    opsetImport: [{ domain: "", version: OPSET }],
    graph: { name: "cuda_check", node: [{ opType: "Identity", input: ["x"], output: ["y"] }], input: [info("x")], output: [info("y")] },
  })).finish();
  // Without the provider's library onnxruntime would also print its own raw error line: said here alone.
  const missing = missingCudaProvider();
  if (missing) throw new ModelInputError(`GPU ${index}: the CUDA execution provider cannot start (${missing} is missing); ${CUDA_INSTALL_HINT}`);
  try {
    const session = await ort.InferenceSession.create(model, { executionProviders: [{ name: "cuda", deviceId: index }] });
    await session.release();
  } catch (e) {
    throw new ModelInputError(`GPU ${index}: the CUDA execution provider cannot start (${(e as Error).message.split("\n")[0]}); ${CUDA_INSTALL_HINT}`);
  }
}

/** The CUDA provider library onnxruntime-node loads from beside its binding, when it is not there. */
function missingCudaProvider(): string | undefined {
  const binding = path.join(path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);
  const library = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(binding) && !existsSync(path.join(binding, library)) ? library : undefined;
}

function deviceName(device: DeviceTarget): string {
  if (device.kind === "cpu") return cpus()[0]?.model.trim() ?? "cpu";
  try {
    return execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader", "-i", String(device.index)], { encoding: "utf8", timeout: 5000 }).trim();
  } catch {
    return `cuda:${device.index}`;
  }
}

export class Flux2Models {
  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly sessions: Record<GraphName, ort.InferenceSession>,
    readonly runtime: RuntimeInfo,
  ) {}

  static async open(dir: string, precision: Precision, device: DeviceTarget, opts: { verify?: boolean } = {}): Promise<Flux2Models> {
    if (precision === "bfloat16" && device.kind === "cpu") {
      throw new ModelInputError("precision bfloat16 needs a GPU: onnxruntime's CPU provider has no bfloat16 kernels (use float32, exact, or float16 on a CPU)");
    }
    const manifest = readManifest(dir);
    await verifyModelFiles(dir, manifest, opts.verify ?? false);
    const graphs = manifest.graphs[precision];
    if (!graphs) {
      throw new ModelInputError(`${path.join(dir, "manifest.json")}: no ${precision} graphs in this model directory (it has: ${Object.keys(manifest.graphs).join(", ")}); import it again with this version`);
    }
    const sessions = {} as Record<GraphName, ort.InferenceSession>;
    for (const name of GRAPH_NAMES) {
      const file = path.join(dir, graphs[name].file);
      if (!existsSync(file)) throw new ModelInputError(`${file}: missing from the model directory`);
      sessions[name] = await createSession(file, device);
    }
    const runtime: RuntimeInfo = {
      execution_provider: device.kind === "gpu" ? "cuda" : "cpu",
      onnxruntime: ort.env.versions.node ?? "unknown",
      device_name: deviceName(device),
      precision,
      synthetic: manifest.synthetic,
    };
    return new Flux2Models(dir, manifest, sessions, runtime);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
