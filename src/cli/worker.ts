/**
 * `sweep worker`: serve evaluations over gRPC until SIGINT or SIGTERM (then drain, see
 * worker/drain.ts; a second signal exits at once) or, with --exit-with-parent, stdin's end.
 */
import { setFlagsFromString } from "node:v8";
import type { Argv } from "yargs";
import type { RunningWorker } from "../worker/worker-server.js";
import { numberFlag, positiveInteger, readableFile, UsageError } from "./flags.js";

export function workerCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("worker", "Serve evaluations over gRPC (proto/sweep/v1/worker.proto)", (c) => c
    .option("listen", { type: "string", default: "127.0.0.1:7070", describe: "HOST:PORT; port 0 picks a free one" })
    .option("devices", { type: "string", default: "cpu", describe: "'cpu', or GPU indices such as 0,1,2,3 (one pool per device)" })
    .option("threads", { type: "number", coerce: positiveInteger("threads"), describe: "Slots per device (cpu: default CPU cores; GPU: default 1)" })
    .option("model-root", { type: "string", default: ".", describe: "Folder that module and model paths resolve inside" })
    .option("token", { type: "string", describe: "Require this shared token on every call (default: $SWEEP_TOKEN)" })
    .option("tls-cert", { type: "string", coerce: readableFile("tls-cert"), describe: "Serve TLS with this certificate (PEM)" })
    .option("tls-key", { type: "string", coerce: readableFile("tls-key"), describe: "TLS private key (PEM)" })
    .option("tls-client-ca", { type: "string", coerce: readableFile("tls-client-ca"), describe: "Require client certificates signed by this CA (PEM)" })
    .option("insecure", { type: "boolean", default: false, describe: "Allow a non-loopback address without token or TLS" })
    .option("preload", { type: "string", describe: "Model directories (names under --model-root, comma separated) to load and warm on every device; health says SERVING once they are" })
    .option("precision", { choices: ["float32", "float16", "bfloat16"] as const, default: "float32" as const, describe: "Compute precision of the --preload models" })
    .option("verify", { type: "boolean", default: false, describe: "Check every model file's sha256 against its manifest before first use (sizes are always checked)" })
    .option("drain-timeout", {
      type: "number", default: 30, coerce: numberFlag("drain-timeout", { min: 0, what: "a number of seconds, 0 or more" }),
      describe: "On SIGTERM/SIGINT: seconds the evaluations in flight may take to finish before they are failed back as draining",
    })
    .option("exit-with-parent", { type: "boolean", default: false, hidden: true, describe: "Exit when stdin closes" })
    .check((a) => {
      // Both ways at once: yargs' `implies` says it in two lines of its own notation.
      if ((a["tls-cert"] === undefined) !== (a["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
      return true;
    }),
  async (args) => {
    // Every request's bytes pass through fresh buffers (HTTP/2 reads, grpc-js's message, the decoded
    // SES low bands, 8 KiB a candidate), which V8 counts towards its next full collection: with its
    // default step a worker fed SES candidates ran one several times a second. A worker's JS heap is
    // small next to its models, so it may grow to 3x its live size between collections.
    setFlagsFromString("--heap-growing-percent=200");
    const { startWorker } = await import("../worker/worker-server.js");
    const worker = await startWorker({
      listen: args.listen,
      devices: args.devices,
      threads: args.threads,
      modelRoot: args["model-root"],
      token: args.token ?? process.env.SWEEP_TOKEN,
      tls: args["tls-cert"] && args["tls-key"] ? { cert: args["tls-cert"], key: args["tls-key"], clientCa: args["tls-client-ca"] } : undefined,
      insecure: args.insecure,
      preload: args.preload ? args.preload.split(",").map((m) => m.trim()).filter(Boolean) : undefined,
      precision: args.precision,
      verify: args.verify,
    });
    process.stdout.write(`${JSON.stringify({ listening: worker.address })}\n`);
    const stop = stopRequested(args["exit-with-parent"], (code) => exitWorker(worker, code));
    try {
      // A failed preload throws here (the worker has closed); a stop may come while models load.
      await Promise.race([worker.ready, stop]);
      // Its coordinator gone (stdin closed), nobody waits for answers: no drain.
      if ((await stop) === "signal") await worker.drain(args["drain-timeout"] * 1000);
      if (!(await worker.close())) await exitWorker(worker, 0);
    } finally {
      process.stdin.destroy();
    }
  });
}

/**
 * Exits with `code` without waiting for model work: its tasks are cancelled; a thread still inside
 * an onnxruntime run is left to it (exit-now.ts), or, where the process cannot exit at once, waited for.
 */
async function exitWorker(worker: RunningWorker, code: number): Promise<never> {
  if (!(await worker.halt(0))) {
    process.stderr.write("exiting while a model batch is still inside onnxruntime (the run is abandoned)\n");
    const { exitNow } = await import("../worker/exit-now.js");
    exitNow(code);
    await worker.halt();
  }
  process.exit(code);
}

/** Resolves at the first SIGINT or SIGTERM, or stdin's end with `exitWithParent`; a second signal exits at once. */
function stopRequested(exitWithParent: boolean, exit: (code: number) => Promise<never>): Promise<"signal" | "parent"> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting at once\n`);
        void exit(signal === "SIGINT" ? 130 : 143);
        return;
      }
      stopping = true;
      resolve("signal");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    if (exitWithParent) {
      const gone = () => {
        stopping = true;
        resolve("parent");
      };
      process.stdin.on("end", gone);
      process.stdin.on("close", gone);
      process.stdin.resume();
    }
  });
}
