/**
 * `sweep worker`: a gRPC server that owns devices (a thread pool each) and evaluates batches of
 * candidate recipes for coordinators. Evaluation never runs on the thread serving gRPC. It listens
 * first, so health probes reach it while its --preload models load; health says SERVING once they
 * are warm, and NOT_SERVING again while it drains (drain.ts).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import { PROTOCOL, raiseReceiveWindow, SERVER_OPTIONS, WorkerService } from "../grpc/proto.js";
import { WORKER_FEATURES } from "../grpc/wire.js";
import { VERSION } from "../version.js";
import { closeDevices, leastBusy, openDevices, parseDevices, type Device } from "./devices.js";
import { Drain, type DrainReport } from "./drain.js";
import { EvaluateStream, type Dispatch } from "./evaluate-stream.js";
import { ModelChecks } from "./model-checks.js";
import { ModelRoot } from "./model-root.js";
import { preloadModels } from "./preload.js";
import { decodeRequest, EVALUATOR_KINDS } from "./request-decoder.js";
import { tokenInterceptor } from "./token-interceptor.js";
import { WorkerSetupError } from "./worker-setup-error.js";
import type { Flux2PickScoreSpec } from "../domain/sweep.js";
import { joinHostPort, splitHostPort, type HostPort } from "../domain/worker-address.js";
import type { DescribeResponse } from "../grpc/generated/sweep/v1/DescribeResponse.js";
import type { EvaluateRequest__Output } from "../grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluateResponse } from "../grpc/generated/sweep/v1/EvaluateResponse.js";

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
  /** model directories (names under the model root) loaded and warmed on every device once the worker listens; health says SERVING after */
  preload?: string[];
  /** compute precision of the preloaded models */
  precision?: Flux2PickScoreSpec["precision"];
  /** check every model file's sha256 against its manifest when first loaded (sizes are always checked) */
  verify?: boolean;
  log?: (line: string) => void;
}

export interface RunningWorker {
  address: string;
  /** Resolves once the preload models are loaded and warmed (health: SERVING); rejects with the preload's error, the worker closed. */
  ready: Promise<void>;
  /** Health NOT_SERVING, then drain.ts's drain: resolves once every candidate held is answered. */
  drain(timeoutMs: number): Promise<DrainReport>;
  /**
   * Stops all model work (native-guard.ts): resolves true once no thread is inside onnxruntime, so
   * the process may exit; false when one still is after `waitMs` (exit-now.ts then exits).
   */
  halt(waitMs?: number): Promise<boolean>;
  /** Closes the server, then the devices; false (the devices left open) when a thread is still inside onnxruntime after STOP_WAIT_MS. */
  close(): Promise<boolean>;
}

/** How long closing waits for threads to come out of onnxruntime (a cancelled task stops at its next graph run). */
const STOP_WAIT_MS = 2000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

function listenAddress(listen: string): HostPort {
  const address = splitHostPort(listen);
  if (!address) throw new WorkerSetupError(`--listen: expected HOST:PORT, e.g. 127.0.0.1:7070 (got '${listen}')`);
  return address;
}

/** What the worker serves with: its devices, model root and checked models. */
interface WorkerResources {
  id: string;
  devices: Device[];
  modelRoot: ModelRoot;
  models: ModelChecks;
}

/** The health service's names: the whole server ("") and the Worker service. */
const HEALTH_SERVICES = ["", "sweep.v1.Worker"];

/** A listening server, its health and its streams' drain. */
interface Served {
  address: string;
  server: grpc.Server;
  health: (status: ServingStatus) => void;
  drain: Drain;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  refuseUnprotected(opts);
  const slots = parseDevices(opts.devices, opts.threads);
  const modelRoot = new ModelRoot(opts.modelRoot);
  const devices = await openDevices(slots);
  const worker: WorkerResources = {
    id: `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`, devices, modelRoot, models: new ModelChecks(opts.verify ?? false, log),
  };
  let served: Served;
  try {
    served = await listen(worker, opts, log);
  } catch (e) {
    await closeDevices(devices);
    throw e;
  }
  let closing: Promise<boolean> | undefined;
  const closeWorker = () => (closing ??= close(served.server, devices));
  const preload = opts.preload ?? [];
  const ready = preloadModels(preload, opts.precision ?? "float32", { modelRoot, checks: worker.models, devices, log }).then(
    () => {
      // A drain that began meanwhile keeps it NOT_SERVING.
      if (served.drain.draining) return;
      served.health("SERVING");
      if (preload.length > 0) log(`sweep worker ${worker.id} ready: ${preload.join(", ")} loaded and warmed (health SERVING)`);
    },
    async (e: unknown) => {
      await closeWorker();
      throw e;
    },
  );
  return {
    address: served.address, ready, drain: (timeoutMs) => drain(served, timeoutMs, log), close: closeWorker,
    halt: (waitMs) => haltDevices(devices, waitMs),
  };
}

/** Serves the worker on `opts.listen`, NOT_SERVING until its models are ready, and says where. */
async function listen(worker: WorkerResources, opts: WorkerOptions, log: (line: string) => void): Promise<Served> {
  const healthService = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, "NOT_SERVING"])));
  const drain = new Drain();
  const server = createServer(worker, opts, log, healthService, drain);
  const port = await bind(server, opts);
  if (!raiseReceiveWindow(server)) log("could not raise the HTTP/2 receive window (grpc-js internals changed): SES batches arrive slower");
  const address = joinHostPort(listenAddress(opts.listen).host, port);
  const slots = worker.devices.map((d) => `${d.id}: ${d.pool.capacity} slots`).join(", ");
  const loading = opts.preload?.length ? `; loading models: ${opts.preload.join(", ")}` : "";
  log(`sweep worker ${worker.id} listening on ${address} (${slots}; model root ${worker.modelRoot.dir}${opts.token ? "; token required" : ""}${opts.tls ? "; TLS" : ""}${loading})${loading ? "" : "; ready"}`);
  return { address, server, drain, health: (status) => HEALTH_SERVICES.forEach((s) => healthService.setStatus(s, status)) };
}

/** Stops taking work (health NOT_SERVING, new candidates answered as draining) and finishes or fails back what it holds. */
async function drain(served: Served, timeoutMs: number, log: (line: string) => void): Promise<DrainReport> {
  served.health("NOT_SERVING");
  log(`draining: ${served.drain.held()} in flight, new candidates answered 'worker draining'; up to ${timeoutMs / 1000} s (health NOT_SERVING)`);
  const report = await served.drain.run(timeoutMs);
  log(report.failedBack > 0
    ? `drain timeout: ${report.failedBack} failed back as draining after ${report.seconds.toFixed(1)} s`
    : `drained in ${report.seconds.toFixed(1)} s`);
  return report;
}

/** Anyone who reaches a worker could run evaluations: beyond loopback it needs a token, TLS or an explicit --insecure. */
function refuseUnprotected(opts: WorkerOptions): void {
  const { host } = listenAddress(opts.listen);
  if (!LOOPBACK.test(host) && !opts.token && !opts.tls && !opts.insecure) {
    throw new WorkerSetupError(
      `refusing to listen on ${opts.listen} without protection: anyone who reaches it could run evaluations. ` +
      "Give a shared token (--token or SWEEP_TOKEN), TLS (--tls-cert and --tls-key), or --insecure on a trusted network.",
      "--listen",
    );
  }
}

/** The Worker service (Describe, Evaluate) behind the token check when there is one, and the standard health service. */
function createServer(worker: WorkerResources, opts: WorkerOptions, log: (line: string) => void, health: HealthImplementation, drain: Drain): grpc.Server {
  const interceptors: grpc.ServerInterceptor[] = opts.token ? [tokenInterceptor(opts.token, log)] : [];
  const server = new grpc.Server({ ...SERVER_OPTIONS, interceptors });
  health.addToServer(server);
  const deps = { decode: (req: EvaluateRequest__Output) => decodeRequest(req, worker.modelRoot), dispatch: dispatch(worker), host: drain };
  server.addService(WorkerService.service, {
    Describe: (_call: grpc.ServerUnaryCall<unknown, DescribeResponse>, callback: grpc.sendUnaryData<DescribeResponse>) => callback(null, describeWorker(worker)),
    Evaluate: (call: grpc.ServerDuplexStream<EvaluateRequest__Output, EvaluateResponse>) => new EvaluateStream(call, deps),
  });
  return server;
}

/** Describe's answer: what this worker is and runs, and the models it has checked so far. */
function describeWorker(worker: WorkerResources): DescribeResponse {
  return {
    protocol: PROTOCOL,
    tool_version: VERSION,
    worker_id: worker.id,
    devices: worker.devices.map((d) => ({ id: d.id, kind: d.kind, slots: d.pool.capacity, ...d.runtime })),
    capacity: worker.devices.reduce((n, d) => n + d.pool.capacity, 0),
    evaluators: [...EVALUATOR_KINDS],
    models: [...worker.modelRoot.loaded(), ...worker.models.loaded()],
    features: [...WORKER_FEATURES],
  };
}

/** Each task to the least busy device, once its model (if any) has passed its check. */
function dispatch(worker: WorkerResources): Dispatch {
  return (task, opts) => {
    const device = leastBusy(worker.devices);
    const ready = task.evaluator.kind === "flux2-pickscore" ? worker.models.check(task.evaluator, task.heldoutDirs) : Promise.resolve();
    return { device: device.id, result: ready.then(() => device.pool.evaluate(task, opts)) };
  };
}

function bind(server: grpc.Server, opts: WorkerOptions): Promise<number> {
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(
      opts.tls.clientCa ? readFileSync(opts.tls.clientCa) : null,
      [{ private_key: readFileSync(opts.tls.key), cert_chain: readFileSync(opts.tls.cert) }],
      !!opts.tls.clientCa,
    )
    : grpc.ServerCredentials.createInsecure();
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, credentials, (err, p) => (err ? reject(new WorkerSetupError(`cannot listen on ${opts.listen}: ${err.message}`, "--listen")) : resolve(p)));
  });
}

/** Every device's model work stopped; false when a thread is still inside onnxruntime after `waitMs`. */
async function haltDevices(devices: Device[], waitMs?: number): Promise<boolean> {
  return (await Promise.all(devices.map((d) => d.pool.halt(waitMs)))).every(Boolean);
}

/**
 * Gives open streams a moment to finish, then cuts them (a coordinator may be gone for good), then
 * stops the devices, unless a thread is still inside one long onnxruntime run after STOP_WAIT_MS:
 * closing its pool would wait for the run (false).
 */
async function close(server: grpc.Server, devices: Device[]): Promise<boolean> {
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
  if (!(await haltDevices(devices, STOP_WAIT_MS))) return false;
  await closeDevices(devices);
  return true;
}
