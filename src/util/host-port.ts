/** HOST:PORT addresses, IPv6 hosts in brackets ([::1]:7070). */

/** The host (brackets taken off) and port of `host:port`, or undefined when it is not one. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(address);
  return m ? { host: m[1].replace(/^\[(.*)\]$/, "$1"), port: Number(m[2]) } : undefined;
}

/** `host:port`, brackets around an IPv6 host. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
