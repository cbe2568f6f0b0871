/**
 * Workers that cannot serve the run, whatever the retries: the worker refused our token, TLS failed
 * on a certificate or on one side speaking TLS and the other not, or its Describe does not list the
 * sweep's evaluator or a recipe feature its strategies need. The coordinator stops waiting for such
 * a worker at once and says why, instead of retrying it for --worker-wait seconds or failing every
 * candidate sent to it.
 */
import { connect as tlsConnect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { DescribeResponse__Output } from "../../grpc/generated/sweep/v1/DescribeResponse.js";
import { splitHostPort } from "../../domain/worker-address.js";

/** Why a worker refused the coordinator for good, in a line, or undefined when retrying may help. */
export function refusalReason(err: grpc.ServiceError | null): string | undefined {
  if (!err) return undefined;
  if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
    return "wrong or missing token: pass the worker's token with --token or SWEEP_TOKEN";
  }
  if (err.code !== grpc.status.UNAVAILABLE) return undefined;
  const text = err.details || err.message;
  if (/wrong version number|packet length too long|http request/i.test(text)) {
    return "it does not speak TLS: drop --tls-ca, or start the worker with --tls-cert and --tls-key";
  }
  if (/certificate required/i.test(text)) return "it requires a client certificate: pass --tls-cert and --tls-key";
  if (/alert (bad certificate|unknown ca|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)/i.test(text)) {
    return `it did not accept the client certificate (${tlsReason(text)})`;
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i.test(text)) {
    return `its certificate does not name this address (${tlsReason(text)}): connect by a name or IP the certificate lists`;
  }
  if (/self[- ]signed certificate|unable to (get|verify)|certificate (has expired|is not yet valid|signature failure|chain too long)|CERT_|unsupported certificate/i.test(text)) {
    return `its certificate is not trusted (${tlsReason(text)}): is --tls-ca the CA that signed the worker's --tls-cert?`;
  }
  return undefined;
}

/** Why a worker that answered Describe cannot run the sweep's evaluator `kind`, or undefined when it lists it. */
export function evaluatorRefusal(info: DescribeResponse__Output, kind: string): string | undefined {
  if (info.evaluators.includes(kind)) return undefined;
  return `it does not run the ${kind} evaluator (its Describe lists: ${info.evaluators.join(", ") || "none"})`;
}

/** Why a worker cannot take the run's recipes (a feature its Describe lacks: an older worker), or undefined. */
export function featureRefusal(info: DescribeResponse__Output, features: readonly string[]): string | undefined {
  const missing = features.filter((f) => !info.features.includes(f));
  if (missing.length === 0) return undefined;
  return `it does not take the recipes of this sweep's strategies (its Describe lacks ${missing.join(", ")}: a worker of an older version?)`;
}

/** The reason inside grpc-js's "No connection established. Last error: ..." and OpenSSL's long lines. */
function tlsReason(text: string): string {
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(text);
  if (openssl) return openssl[1].trim();
  return text
    .replace(/\.?\s*Resolution note:\s*$/, "")
    .replace(/^.*Last error:\s*/s, "")
    .replace(/^Error( \[[A-Z_]+\])?:\s*/, "")
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)\s*$/, "")
    .replace(/[:.\s]+$/, "")
    .trim();
}

/**
 * A plaintext coordinator at a TLS worker sees the connection close ("Failed to connect"), as it
 * would for a worker going down; a TLS handshake tells the two apart. True when the address
 * completes one (it serves TLS). Certificates are not checked: this only asks what it speaks.
 */
export function servesTls(address: string, timeoutMs = 2000): Promise<boolean> {
  const hostPort = splitHostPort(address);
  if (!hostPort) return Promise.resolve(false);
  const { host, port } = hostPort;
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ["h2"], timeout: timeoutMs }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Node warns (DEP0123) when the TLS server name is an IP address, which grpc-js sets for every
 * connection to an IP. The certificate is still checked against that IP; the warning only says SNI
 * will not carry it, which a worker (one certificate) never needs. That one warning is dropped.
 */
export function dropIpServernameWarning(): void {
  if (patched) return;
  patched = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const options = rest[0];
    const code = typeof options === "object" && options !== null ? (options as { code?: unknown }).code : rest[1];
    if (code === "DEP0123") return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

let patched = false;
