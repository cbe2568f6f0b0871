/**
 * How a worker is named, in --workers, a workers file or the config's `workers`: HOST:PORT
 * ([IPv6]:PORT), or dns:NAME:PORT for every address NAME resolves to.
 */
export const DNS_PREFIX = "dns:";

export const WORKER_ENTRY = /^(dns:)?(\[[^\]\s]+\]|[^:\s[\]]+):\d{1,5}$/;
