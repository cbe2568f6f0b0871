/**
 * A model directory opened on one device: its manifest checked, onnxruntime sessions created once and
 * kept, on the CPU execution provider or CUDA's with the device's index.
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
import { buildBatchGraph } from "../../models/batch-graph.js";
import { GraphBuilder, OPSET } from "../../models/onnx/graph-builder.js";
import { readManifest, verifyModelFiles, type GraphName, type ModelManifest, type Precision } from "../../models/manifest.js";
import { modelWeights, readStageConfigs } from "../../models/model-configs.js";
import { ModelInputError } from "../../models/model-error.js";
import type { ClipPreprocessConfig } from "../../models/pickscore/clip-preprocessor-config.js";

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

/** The batch graph of one size and step count (models/batch-graph.ts). */
export interface BatchShape {
  height: number;
  width: number;
  steps: number;
  /** also output the intermediates the reference traces (tests) */
  trace?: boolean;
}

/**
 * A model directory on one device. The prompt's graphs (text encoder, CLIP text tower) open with
 * it; the batch graph of a size is built here and opened on first use, from the stage graphs'
 * weights (the same files, read by one session: the stage graphs of the transformer, the VAE and
 * the CLIP vision tower are not opened unless asked for, so no weight is held twice).
 */
export class Flux2Models {
  private readonly stages = new Map<GraphName, Promise<ort.InferenceSession>>();
  private readonly batches = new Map<string, Promise<ort.InferenceSession>>();

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly precision: Precision,
    private readonly device: DeviceTarget,
    readonly runtime: RuntimeInfo,
  ) {}

  static async open(dir: string, precision: Precision, device: DeviceTarget, opts: { verify?: boolean } = {}): Promise<Flux2Models> {
    if (precision === "bfloat16" && device.kind === "cpu") {
      throw new ModelInputError("precision bfloat16 needs a GPU: onnxruntime's CPU provider has no bfloat16 kernels (use float32, exact, or float16 on a CPU)");
    }
    const manifest = readManifest(dir);
    await verifyModelFiles(dir, manifest, opts.verify ?? false);
    if (!manifest.graphs[precision]) {
      throw new ModelInputError(`${path.join(dir, "manifest.json")}: no ${precision} graphs in this model directory (it has: ${Object.keys(manifest.graphs).join(", ")}); import it again with this version`);
    }
    const runtime: RuntimeInfo = {
      execution_provider: device.kind === "gpu" ? "cuda" : "cpu",
      onnxruntime: ort.env.versions.node ?? "unknown",
      device_name: deviceName(device),
      precision,
      synthetic: manifest.synthetic,
    };
    const models = new Flux2Models(dir, manifest, precision, device, runtime);
    await Promise.all([models.stage("text_encoder"), models.stage("clip_text")]);
    return models;
  }

  /** A stage graph's session, opened on first use. */
  stage(name: GraphName): Promise<ort.InferenceSession> {
    let session = this.stages.get(name);
    if (!session) {
      const file = path.join(this.dir, (this.manifest.graphs[this.precision] as NonNullable<ModelManifest["graphs"][Precision]>)[name].file);
      session = existsSync(file) ? createSession(file, this.device) : Promise.reject(new ModelInputError(`${file}: missing from the model directory`));
      this.stages.set(name, session);
    }
    return session;
  }

  /** The batch graph's session for a size and step count, built and opened on first use. */
  batch(shape: BatchShape): Promise<ort.InferenceSession> {
    const key = `${shape.height}x${shape.width}x${shape.steps}${shape.trace ? "+trace" : ""}`;
    let session = this.batches.get(key);
    if (!session) {
      session = this.openBatch(shape);
      this.batches.set(key, session);
      session.catch(() => this.batches.delete(key));
    }
    return session;
  }

  private async openBatch(shape: BatchShape): Promise<ort.InferenceSession> {
    const c = this.manifest.constants;
    const b = new GraphBuilder({
      name: `batch_${shape.height}x${shape.width}_${shape.steps}_${this.precision}`,
      compute: this.precision,
      weights: modelWeights(this.dir, ["transformer", "vae", "pickscore"]),
      location: (file) => path.relative(this.dir, file),
    });
    buildBatchGraph(b, readStageConfigs(this.dir, this.manifest), {
      ...shape,
      textLength: c.text_max_length,
      clipImage: clipPreprocessConfig(this.manifest),
    });
    try {
      // External data resolves against the model directory; the graph itself stays in memory.
      return await ort.InferenceSession.create(b.encode(), { ...sessionOptions(this.device), extra: { session: { model_external_initializers_file_folder_path: this.dir } } });
    } catch (e) {
      throw new ModelInputError(`${this.dir}: onnxruntime cannot open the batch graph for ${shape.height}x${shape.width}, ${shape.steps} steps: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  async release(): Promise<void> {
    const sessions = await Promise.allSettled([...this.stages.values(), ...this.batches.values()]);
    await Promise.all(sessions.map((s) => (s.status === "fulfilled" ? s.value.release() : undefined)));
  }
}

/** CLIP's preprocessing as the manifest records it. */
export function clipPreprocessConfig(manifest: ModelManifest): ClipPreprocessConfig {
  const c = manifest.constants.clip_image;
  return { size: c.size, cropSize: { height: c.crop_height, width: c.crop_width }, mean: c.mean, std: c.std, rescaleFactor: c.rescale_factor };
}
