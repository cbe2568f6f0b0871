/**
 * `sweep worker`: a gRPC server that owns devices (a thread pool each) and evaluates batches of
 * candidate recipes for coordinators. Evaluation never runs on the thread serving gRPC.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { checkCudaProvider, deviceRuntime, type DeviceTarget } from "../evaluators/flux2-pickscore/model-sessions.js";
import { DevicePool } from "../executor/device-pool.js";
import { readManifest, sha256File, verifyModelFiles } from "../models/manifest.js";
import { ModelInputError, modelNotFound } from "../models/model-error.js";
import { PROTOCOL, raiseReceiveWindow, SERVER_OPTIONS, WorkerService, type WireDescribe, type WireEvaluatorSpec, type WireRequest, type WireResponse } from "../grpc/proto.js";
import { recipeFromWire, WORKER_FEATURES } from "../grpc/wire.js";
import { VERSION } from "../version.js";
import { ModelRoot } from "./model-root.js";
import type { EvaluatorSpec, Flux2PickScoreSpec } from "../domain/sweep.js";
import { EvaluationError, type EvaluationTask } from "../domain/outcome.js";
import type { NoiseShape } from "../domain/candidate.js";
import { joinHostPort, splitHostPort, type HostPort } from "../domain/worker-address.js";

export interface WorkerOptions {
  listen: string;
  /** "cpu", or GPU indices such as "0,1,2,3". */
  devices: string;
  /** Slots per device: CPU threads for "cpu" (default: cores), per GPU otherwise (default 1). */
  threads?: number;
  modelRoot: string;
  token?: string;
  tls?: { cert: string; key: string; clientCa?: string };
  insecure?: boolean;
  /** model directories (names under the model root) loaded and warmed on every device before the worker listens */
  preload?: string[];
  /** compute precision of the preloaded models */
  precision?: Flux2PickScoreSpec["precision"];
  /** check every model file's sha256 against its manifest when first loaded (sizes are always checked) */
  verify?: boolean;
  log?: (line: string) => void;
}

export class WorkerSetupError extends Error {}

interface Device {
  id: string;
  kind: "cpu" | "gpu";
  pool: DevicePool;
  target: DeviceTarget;
}

export interface RunningWorker {
  address: string;
  close(): Promise<void>;
}

const EVALUATORS = ["synthetic", "module", "noop", "flux2-pickscore"];

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

function listenAddress(listen: string): HostPort {
  const address = splitHostPort(listen);
  if (!address) throw new WorkerSetupError(`--listen: expected HOST:PORT, e.g. 127.0.0.1:7070 (got '${listen}')`);
  return address;
}

function parseDevices(spec: string, threads: number | undefined): { id: string; kind: "cpu" | "gpu"; slots: number; target: DeviceTarget }[] {
  if (spec === "cpu") {
    const slots = threads ?? availableParallelism();
    // onnxruntime's own threads share the cores among the pool's slots
    const intraOpThreads = Math.max(1, Math.floor(availableParallelism() / slots));
    return [{ id: "cpu", kind: "cpu", slots, target: { kind: "cpu", index: 0, intraOpThreads } }];
  }
  const ids = spec.split(",").map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id)) || new Set(ids).size !== ids.length) {
    throw new WorkerSetupError(`--devices: expected 'cpu' or distinct GPU indices such as 0,1,2,3 (got '${spec}')`);
  }
  return ids.map((id) => ({ id, kind: "gpu", slots: threads ?? 1, target: { kind: "gpu", index: Number(id), intraOpThreads: 1 } }));
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { host } = listenAddress(opts.listen);
  if (!LOOPBACK.test(host) && !opts.token && !opts.tls && !opts.insecure) {
    throw new WorkerSetupError(
      `refusing to listen on ${opts.listen} without protection: anyone who reaches it could run evaluations. ` +
      "Give a shared token (--token or SWEEP_TOKEN), TLS (--tls-cert and --tls-key), or --insecure on a trusted network.",
    );
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new WorkerSetupError(`--threads: expected a positive integer (got ${opts.threads})`);
  }
  const modelRoot = new ModelRoot(opts.modelRoot);
  const workerId = `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const parsed = parseDevices(opts.devices, opts.threads);
  for (const d of parsed) {
    if (d.kind === "gpu") {
      try {
        await checkCudaProvider(d.target.index);
      } catch (e) {
        throw new WorkerSetupError((e as Error).message);
      }
    }
  }
  const runtimes = new Map(parsed.map((d) => [d.id, deviceRuntime(d.target)]));
  const devices: Device[] = parsed.map((d) => ({ id: d.id, kind: d.kind, pool: new DevicePool(d.slots, d.id, d.target), target: d.target }));
  // A model directory is checked once per worker (sizes; digests with --verify) before its first load.
  const checkedModels = new Map<string, Promise<void>>();
  const loadedModels = new Map<string, { name: string; sha256: string; synthetic: string }>();
  const checkModel = (spec: Flux2PickScoreSpec): Promise<void> => {
    const dir = spec.model_dir as string;
    let checked = checkedModels.get(dir);
    if (!checked) {
      checked = (async () => {
        const started = performance.now();
        const manifest = readManifest(dir);
        await verifyModelFiles(dir, manifest, opts.verify ?? false);
        const sha256 = await sha256File(path.join(dir, "manifest.json"));
        loadedModels.set(dir, { name: spec.model, sha256, synthetic: manifest.synthetic ?? "" });
        if (opts.verify) log(`verified ${spec.model}: every file's sha256 matches its manifest (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      })();
      checkedModels.set(dir, checked);
      checked.catch(() => checkedModels.delete(dir));
    }
    return checked;
  };
  const flux2Spec = (model: string, fields: Omit<Flux2PickScoreSpec, "kind" | "model" | "model_dir" | "shape">): Flux2PickScoreSpec => {
    const dir = path.join(modelRoot.dir, model);
    if (!/^[A-Za-z0-9_.+-]+$/.test(model) || model === "." || model === "..") throw new Error(`model '${model}' must be a folder name under the worker's model root`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw modelNotFound(model, modelRoot.dir);
    if (fields.height % 16 !== 0 || fields.width % 16 !== 0 || fields.height < 16 || fields.width < 16) throw new Error(`height ${fields.height} and width ${fields.width} must be multiples of 16`);
    if (fields.score !== "cosine" && fields.score !== "logit") throw new Error(`unknown score convention '${fields.score}' (expected cosine or logit)`);
    if (!["float32", "float16", "bfloat16"].includes(fields.precision)) throw new Error(`unknown precision '${fields.precision}' (expected float32, float16 or bfloat16)`);
    if (!(fields.max_batch >= 1 && fields.steps >= 1)) throw new Error("max_batch and steps must be at least 1");
    const shape: NoiseShape = [1, 128, fields.height / 16, fields.width / 16];
    return { kind: "flux2-pickscore", model, model_dir: dir, shape, ...fields };
  };
  for (const model of opts.preload ?? []) {
    const started = performance.now();
    const spec = flux2Spec(model, { height: 1024, width: 1024, steps: 4, score: "cosine", precision: opts.precision ?? "float32", max_batch: 1 });
    await checkModel(spec);
    try {
      await Promise.all(devices.map((d) => d.pool.prepare(spec)));
    } catch (e) {
      await Promise.all(devices.map((d) => d.pool.close()));
      throw new WorkerSetupError(`--preload ${model}: ${(e as Error).message}`);
    }
    log(`loaded and warmed ${model} (${spec.precision}) on ${devices.map((d) => d.id).join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const capacity = devices.reduce((n, d) => n + d.pool.capacity, 0);

  const interceptors: grpc.ServerInterceptor[] = opts.token ? [tokenInterceptor(opts.token, log)] : [];
  const server = new grpc.Server({ ...SERVER_OPTIONS, interceptors });
  new HealthImplementation({ "": "SERVING", "sweep.v1.Worker": "SERVING" }).addToServer(server);

  const toTaskEvaluator = (spec: WireEvaluatorSpec): EvaluatorSpec => {
    const shape = spec.shape as unknown as NoiseShape;
    if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`bad noise shape [${spec.shape}]`);
    const common = { shape };
    if (spec.kind === "synthetic") return { kind: "synthetic", ...common, latency_ms: spec.latency_ms, jitter_ms: spec.jitter_ms };
    if (spec.kind === "noop") return { kind: "noop", ...common };
    if (spec.kind === "module") {
      const file = modelRoot.resolve(spec.module_path);
      const digest = modelRoot.digest(file);
      if (spec.module_sha256 && spec.module_sha256 !== digest) {
        throw new Error(`module '${spec.module_path}' on this worker (sha256 ${digest.slice(0, 12)}) differs from the coordinator's (${spec.module_sha256.slice(0, 12)})`);
      }
      return { kind: "module", ...common, path: file, module_path: spec.module_path, module_sha256: digest };
    }
    if (spec.kind === "flux2-pickscore") {
      const { height, width, steps, max_batch } = spec;
      const fluxSpec = flux2Spec(spec.model, { height, width, steps, max_batch, score: spec.score as "cosine", precision: spec.precision as "float32" });
      if (shape.some((d, i) => d !== fluxSpec.shape[i])) throw new Error(`noise shape [${shape}] disagrees with ${height}x${width} (expected [${fluxSpec.shape}])`);
      return fluxSpec;
    }
    throw new Error(`unknown evaluator kind '${spec.kind}' (this worker runs: ${EVALUATORS.join(", ")})`);
  };

  server.addService(WorkerService.service, {
    Describe: (_call: grpc.ServerUnaryCall<unknown, WireDescribe>, callback: grpc.sendUnaryData<WireDescribe>) => {
      callback(null, {
        protocol: PROTOCOL,
        tool_version: VERSION,
        worker_id: workerId,
        devices: devices.map((d) => ({ id: d.id, kind: d.kind, slots: d.pool.capacity, ...runtimes.get(d.id) })),
        capacity,
        evaluators: EVALUATORS,
        models: [...modelRoot.loaded(), ...loadedModels.values()],
        features: [...WORKER_FEATURES],
      });
    },
    Evaluate: (call: grpc.ServerDuplexStream<WireRequest, WireResponse>) => {
      const abandon = new AbortController();
      // Every evaluation of the stream listens here (and stops listening when it ends).
      setMaxListeners(0, abandon.signal);
      const backlog: WireResponse[] = [];
      let blocked = false;
      let pending = 0;
      let ended = false;
      // Respect write() returning false: hold results until the stream drains.
      const send = (r: WireResponse) => {
        if (abandon.signal.aborted) return;
        if (blocked) backlog.push(r);
        else if (!call.write(r)) blocked = true;
      };
      call.on("drain", () => {
        blocked = false;
        while (backlog.length > 0 && !blocked) if (!call.write(backlog.shift()!)) blocked = true;
        if (ended && pending === 0 && backlog.length === 0) call.end();
      });
      const finishIfDone = () => {
        if (ended && pending === 0 && !blocked && backlog.length === 0) call.end();
      };
      call.on("data", (req: WireRequest) => {
        let evaluator: EvaluatorSpec | undefined;
        let setupError = "";
        let fatal = false;
        try {
          evaluator = toTaskEvaluator(req.evaluator);
        } catch (e) {
          setupError = (e as Error).message;
          fatal = e instanceof ModelInputError;
        }
        for (const c of req.candidates) {
          if (!evaluator) {
            send({ candidate_id: c.id, ok: false, score: 0, error: setupError, latency_ms: 0, device: "", fatal });
            continue;
          }
          let task: EvaluationTask;
          try {
            task = { evaluator, prompt: req.prompt, promptIndex: req.prompt_index, recipe: recipeFromWire(c), returnImage: !!req.return_image };
          } catch (e) {
            send({ candidate_id: c.id, ok: false, score: 0, error: (e as Error).message, latency_ms: 0, device: "" });
            continue;
          }
          const device = devices.reduce((a, b) => (b.pool.busy / b.pool.capacity < a.pool.busy / a.pool.capacity ? b : a));
          pending++;
          const checked = evaluator.kind === "flux2-pickscore" ? checkModel(evaluator) : Promise.resolve();
          checked.then(() => device.pool.evaluate(task, { signal: abandon.signal, timeoutMs: req.timeout_ms > 0 ? req.timeout_ms : 600_000 }))
            .then(
              (r) => send({ candidate_id: c.id, ok: true, score: r.score, error: "", latency_ms: r.latencyMs, device: device.id, ...(r.image ? { image: r.image } : {}) }),
              (e: Error) => send({
                candidate_id: c.id, ok: false, score: 0, error: e.message, latency_ms: 0, device: device.id,
                fatal: e instanceof ModelInputError || (e instanceof EvaluationError && e.fatal),
              }),
            )
            .finally(() => {
              pending--;
              finishIfDone();
            });
        }
      });
      call.on("end", () => {
        ended = true;
        finishIfDone();
      });
      call.on("cancelled", () => abandon.abort());
      call.on("error", () => abandon.abort());
    },
  });

  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(
      opts.tls.clientCa ? readFileSync(opts.tls.clientCa) : null,
      [{ private_key: readFileSync(opts.tls.key), cert_chain: readFileSync(opts.tls.cert) }],
      !!opts.tls.clientCa,
    )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, credentials, (err, p) => (err ? reject(new WorkerSetupError(`cannot listen on ${opts.listen}: ${err.message}`)) : resolve(p)));
  });
  if (!raiseReceiveWindow(server)) log("could not raise the HTTP/2 receive window (grpc-js internals changed): SES batches arrive slower");
  const address = joinHostPort(listenAddress(opts.listen).host, port);
  log(`sweep worker ${workerId} listening on ${address} (${devices.map((d) => `${d.id}: ${d.pool.capacity} slots`).join(", ")}; model root ${modelRoot.dir}${opts.token ? "; token required" : ""}${opts.tls ? "; TLS" : ""})`);
  return {
    address,
    close: async () => {
      // Give open streams a moment to finish, then cut them: a coordinator may be gone for good.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await Promise.all(devices.map((d) => d.pool.close()));
    },
  };
}

/** Rejects every call (health included) that lacks `authorization: Bearer <token>`. */
function tokenInterceptor(token: string, log: (line: string) => void): grpc.ServerInterceptor {
  const expected = Buffer.from(`Bearer ${token}`);
  const matches = (given: unknown) => {
    const g = Buffer.from(typeof given === "string" ? given : "");
    return g.length === expected.length && timingSafeEqual(g, expected);
  };
  return (methodDescriptor, call) => new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: (metadata, mdNext) => {
          if (matches(metadata.get("authorization")[0])) {
            mdNext(metadata);
          } else {
            log(`rejected ${methodDescriptor.path}: missing or wrong token (UNAUTHENTICATED)`);
            call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "missing or wrong token (send 'authorization: Bearer <token>')" });
          }
        },
      });
    },
  });
}
