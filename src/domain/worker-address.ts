/**
 * Worker addresses, the one grammar of them: HOST:PORT (an IPv6 host in brackets, [::1]:7070), and
 * in worker lists also dns:NAME:PORT, which stands for every address NAME resolves to.
 */

export const DNS_PREFIX = "dns:";

const HOST = String.raw`\[[^\]\s]+\]|[^:\s[\]]+`;
const PORT = String.raw`\d{1,5}`;
const HOST_PORT = new RegExp(`^(${HOST}):(${PORT})$`);

/** HOST:PORT ([IPv6]:PORT) or dns:NAME:PORT, as a pattern (the config schema's, and its JSON schema's). */
export const WORKER_ENTRY = new RegExp(`^(dns:)?(${HOST}):${PORT}$`);

export interface HostPort {
  /** Without the brackets of an IPv6 host. */
  host: string;
  port: number;
}

export interface WorkerEntry extends HostPort {
  /** dns:NAME:PORT: the host is a name that stands for every address it resolves to. */
  dns: boolean;
}

/** The host and port of HOST:PORT; undefined when `address` is not one. */
export function splitHostPort(address: string): HostPort | undefined {
  const m = HOST_PORT.exec(address);
  return m ? { host: m[1].replace(/^\[(.*)\]$/, "$1"), port: Number(m[2]) } : undefined;
}

/** HOST:PORT, brackets around an IPv6 host. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A worker entry as written in --workers, a workers file or the config; undefined when it is not one. */
export function parseWorkerEntry(entry: string): WorkerEntry | undefined {
  const dns = entry.startsWith(DNS_PREFIX);
  const address = splitHostPort(dns ? entry.slice(DNS_PREFIX.length) : entry);
  return address && { dns, ...address };
}
