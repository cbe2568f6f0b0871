/**
 * One worker as the coordinator reaches it: its channel, what its Describe said, its Evaluate
 * stream and the candidates it has in flight. Connecting is Describe, then the stream. A worker
 * that refuses the run for good (refusal.ts) is not retried; any other failure is.
 *
 * Health: the channel's keepalive pings (CHANNEL_OPTIONS) find a stopped or unplugged worker within
 * seconds; its stream then breaks and the link reports it lost.
 *
 * Two ways to stop sending to a worker: the coordinator drains a worker that left its list
 * ("draining", then "removed" once nothing is in flight), and a worker that drains itself says so
 * in its results ("stopping" until its stream ends, then "down" and retried as any lost worker,
 * so a worker restarted at the same address is used again).
 */
import * as grpc from "@grpc/grpc-js";
import { CHANNEL_OPTIONS, PROTOCOL, WorkerService } from "../../grpc/proto.js";
import type { EvaluateRequestEncoder } from "../../grpc/request-encoder.js";
import { FEATURE_SES_LOW_F32LE, type WireForm } from "../../grpc/wire.js";
import type { WorkerClient } from "../../grpc/generated/sweep/v1/Worker.js";
import type { DescribeResponse__Output } from "../../grpc/generated/sweep/v1/DescribeResponse.js";
import type { EvaluateRequest } from "../../grpc/generated/sweep/v1/EvaluateRequest.js";
import type { EvaluateResponse__Output } from "../../grpc/generated/sweep/v1/EvaluateResponse.js";
import { MovingAverage } from "../../util/moving-average.js";
import { linkWindow, refillMark } from "../scheduling/policy.js";
import { evaluatorRefusal, featureRefusal, refusalReason, servesTls } from "./refusal.js";

const DESCRIBE_DEADLINE_MS = 5000;
/**
 * Describe is asked again after a failure, waiting 250 ms, then twice as long each time, up to 2 s.
 * grpc-js reconnects the channel on its own (with its own backoff), but a call made while the
 * channel is failing fails at once and is not retried: the link has to ask again, and this pacing
 * keeps a worker that is down from being asked in a tight loop. Waiting inside grpc-js instead
 * (waitForReady) would hide the connection error that tells a refusal (token, TLS) from an outage.
 */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2000;

export type LinkState = "connecting" | "up" | "down" | "draining" | "stopping" | "removed";

/** What a link tells the executor. */
export interface LinkEvents<P> {
  /** Its stream is open: it takes work. */
  up(link: WorkerLink<P>): void;
  result(link: WorkerLink<P>, r: EvaluateResponse__Output): void;
  /** Its stream can be written again. */
  writable(link: WorkerLink<P>): void;
  /** Its stream broke; `moved` is what it had in flight (taken off it). It is retried unless draining. */
  lost(link: WorkerLink<P>, why: string, moved: P[]): void;
  /** It refused the run for good: not retried. */
  refused(link: WorkerLink<P>, why: string): void;
  log(line: string): void;
}

/** How every link of a run connects. */
export interface LinkSettings {
  credentials: grpc.ChannelCredentials;
  /** Call metadata (the token), for every call. */
  metadata: () => grpc.Metadata;
  tls: boolean;
  /** The evaluator kind the run needs: a worker whose Describe does not list it is refused. */
  evaluator?: string;
  /** Describe features the run's recipes need: a worker that lacks one is refused. */
  features: readonly string[];
  /** Candidates a worker runs together (the evaluator's padded batch); its window holds whole batches. */
  batch: number;
  encoder: EvaluateRequestEncoder;
}

export class WorkerLink<P> {
  state: LinkState = "connecting";
  info?: DescribeResponse__Output;
  /** Candidates sent to it, by id, until their result comes or they are moved. */
  readonly inFlight = new Map<number, P>();
  /** Its stream's buffer is full: nothing more is written until it drains. */
  blocked = false;
  lastError?: string;
  /** Why it refused the run, when it did. */
  refusal?: string;
  completed = 0;
  /** Times it was lost with candidates in flight. */
  lost = 0;
  /** Of the worker-side latency of its results. */
  readonly latency = new MovingAverage();
  private stream?: grpc.ClientDuplexStream<EvaluateRequest, EvaluateResponse__Output>;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer?: NodeJS.Timeout;
  /** Its current outage has been logged. */
  private reportedDown = false;
  /** A TLS handshake was tried on it, once, after a plaintext connection failed. */
  private probedTls = false;
  private closed = false;
  private readonly client: WorkerClient;

  constructor(readonly address: string, private readonly settings: LinkSettings, private readonly events: LinkEvents<P>) {
    this.client = new WorkerService(address, settings.credentials, CHANNEL_OPTIONS);
  }

  get capacity(): number {
    return this.info?.capacity ?? 0;
  }

  /** How recipes travel to it: the SES low band as raw bytes only where its Describe announces them. */
  get form(): WireForm {
    return { sesLowBytes: this.info?.features.includes(FEATURE_SES_LOW_F32LE) ?? false };
  }

  get window(): number {
    return linkWindow(this.capacity, this.latency.value, this.settings.batch);
  }

  /** Candidates it may take now. */
  get free(): number {
    return this.state === "up" && !this.blocked ? this.window - this.inFlight.size : 0;
  }

  get refillAt(): number {
    return refillMark(this.window);
  }

  private get gone(): boolean {
    return this.closed || this.state === "removed";
  }

  connect(): void {
    if (this.gone) return;
    this.state = this.state === "draining" ? "draining" : "connecting";
    this.client.Describe({}, this.settings.metadata(), { deadline: Date.now() + DESCRIBE_DEADLINE_MS }, (err, info) => {
      if (this.gone || this.refusal) return;
      if (err || !info) {
        // Before a worker ever answered: a refused token or certificate is not retried.
        const refusal = this.info ? undefined : refusalReason(err);
        if (refusal) return this.refuse(refusal);
        if (!this.info && !this.settings.tls && !this.probedTls && /Failed to connect/.test(err?.details ?? "")) {
          this.probedTls = true;
          void servesTls(this.address).then((tls) => tls && !this.info && this.refuse("it serves TLS: pass --tls-ca with the CA of its certificate"));
        }
        return this.retryLater(err?.details || err?.message || "no answer");
      }
      if (info.protocol !== PROTOCOL) {
        this.lastError = `speaks ${info.protocol}, not ${PROTOCOL}`;
        this.state = "down";
        this.events.log(`worker ${this.address} ${this.lastError}; not used`);
        return;
      }
      const lacking = (this.settings.evaluator === undefined ? undefined : evaluatorRefusal(info, this.settings.evaluator)) ?? featureRefusal(info, this.settings.features);
      if (lacking) return this.refuse(lacking);
      this.info = info;
      this.openStream();
    });
  }

  /** Asks the worker to describe itself again (models loaded since it connected); keeps the last answer on failure. */
  describeAgain(): Promise<void> {
    return new Promise((resolve) => {
      this.client.Describe({}, this.settings.metadata(), { deadline: Date.now() + DESCRIBE_DEADLINE_MS }, (err, info) => {
        if (!err && info) this.info = info;
        resolve();
      });
    });
  }

  /** Writes a request; a full stream blocks the link until it drains. */
  send(request: EvaluateRequest): void {
    if (!this.stream!.write(request, () => this.settings.encoder.release(request))) this.blocked = true;
  }

  /** Stops taking work; what it has in flight finishes there, then it is retired. */
  drain(): void {
    this.state = "draining";
    this.retireIfDrained();
  }

  /** The worker answered that it drains: nothing more is sent on this stream. Says whether this was news. */
  workerDraining(): boolean {
    if (this.state !== "up") return false;
    this.state = "stopping";
    return true;
  }

  /** Named again while draining: takes work again (once its stream is back, if it is not). */
  rejoin(): void {
    if (this.state === "draining") this.state = this.stream ? "up" : "down";
  }

  retireIfDrained(): void {
    if (this.state !== "draining" || this.inFlight.size > 0) return;
    this.state = "removed";
    this.stream?.end();
    clearTimeout(this.retryTimer);
    this.client.close();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.client.close();
  }

  /** Refused for good: said once, not retried. */
  private refuse(why: string): void {
    if (this.gone || this.refusal) return;
    clearTimeout(this.retryTimer);
    this.refusal = why;
    this.lastError = `refused: ${why}`;
    this.state = this.state === "draining" ? "draining" : "down";
    this.events.log(`worker ${this.address} cannot be used: ${why}; not retried`);
    this.events.refused(this, why);
  }

  private retryLater(why: string): void {
    // grpc-js appends an empty "Resolution note" to connection errors.
    why = why.replace(/\.?\s*Resolution note:\s*$/, "");
    // Said once per outage, not at every attempt.
    if (!this.reportedDown) this.events.log(`worker ${this.address} unavailable (${why}); retrying every 2 s until it is back`);
    this.reportedDown = true;
    this.lastError = why;
    this.state = this.state === "draining" ? "draining" : "down";
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private openStream(): void {
    const method = WorkerService.service.Evaluate;
    const stream = this.client.makeBidiStreamRequest(method.path, this.settings.encoder.serialize, method.responseDeserialize, this.settings.metadata());
    this.stream = stream;
    this.blocked = false;
    this.state = this.state === "draining" ? "draining" : "up";
    this.retryMs = FIRST_RETRY_MS;
    this.lastError = undefined;
    this.reportedDown = false;
    const info = this.info!;
    this.events.log(`worker ${this.address} up: ${info.worker_id}, ${this.capacity} slots (${info.devices.map((d) => `${d.id}:${d.slots}`).join(", ")})`);
    stream.on("data", (r: EvaluateResponse__Output) => this.events.result(this, r));
    stream.on("drain", () => {
      this.blocked = false;
      this.events.writable(this);
    });
    const lost = (why: string) => {
      if (this.stream !== stream || this.closed) return;
      this.stream = undefined;
      this.streamLost(why);
    };
    stream.on("error", (e: grpc.ServiceError) => lost(e.details || e.message));
    stream.on("end", () => lost("stream ended"));
    this.events.up(this);
  }

  private streamLost(why: string): void {
    if (this.state === "removed") return;
    const moved = [...this.inFlight.values()];
    this.inFlight.clear();
    if (moved.length > 0) this.lost++;
    const draining = this.state === "draining";
    this.state = draining ? "draining" : "down";
    this.events.lost(this, why, moved);
    if (draining) this.retireIfDrained();
    else this.retryLater(why);
  }
}
