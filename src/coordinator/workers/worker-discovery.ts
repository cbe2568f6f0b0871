/**
 * Where the coordinator's workers come from: HOST:PORT entries, and `dns:NAME:PORT` entries that
 * stand for every address NAME resolves to (a Kubernetes headless service, a round-robin name).
 * Names are resolved again every few seconds while a sweep runs: new addresses join, addresses
 * that are gone drain. A failed lookup keeps the name's last addresses.
 */
import { lookup } from "node:dns/promises";
import { DNS_PREFIX, joinHostPort, parseWorkerEntry } from "../../domain/worker-address.js";
const REFRESH_MS = 5000;

export type Resolve = (name: string) => Promise<string[]>;

/** Every address a name resolves to (getaddrinfo: /etc/hosts, search domains, A and AAAA). */
export const resolveName: Resolve = async (name) => (await lookup(name, { all: true })).map((a) => a.address);

export interface DiscoveryEvents {
  onChange(added: string[], removed: string[]): void;
  log(line: string): void;
}

export class WorkerDiscovery {
  private entries: string[] = [];
  private current = new Set<string>();
  private readonly lastGood = new Map<string, string[]>();
  private readonly failing = new Set<string>();
  private timer?: NodeJS.Timeout;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly events: DiscoveryEvents, private readonly resolve: Resolve = resolveName) {}

  get hasNames(): boolean {
    return this.entries.some((e) => e.startsWith(DNS_PREFIX));
  }

  /** Replaces the entries and resolves them; resolves when the addresses are known. */
  setEntries(entries: string[]): Promise<void> {
    this.entries = [...entries];
    return this.refresh();
  }

  /** Re-resolves the names every few seconds until stop(). */
  start(): void {
    this.timer ??= setInterval(() => void (this.hasNames ? this.refresh() : undefined), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves every entry once (one refresh at a time) and reports what changed. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.resolveAll());
    return this.refreshing;
  }

  private async resolveAll(): Promise<void> {
    const next = new Set<string>();
    for (const entry of this.entries) {
      if (!entry.startsWith(DNS_PREFIX)) {
        next.add(entry);
        continue;
      }
      for (const address of await this.resolveEntry(entry)) next.add(address);
    }
    const added = [...next].filter((a) => !this.current.has(a));
    const removed = [...this.current].filter((a) => !next.has(a));
    this.current = next;
    if (added.length > 0 || removed.length > 0) this.events.onChange(added, removed);
  }

  private async resolveEntry(entry: string): Promise<string[]> {
    try {
      const { host: name, port } = parseWorkerEntry(entry)!;
      const addresses = [...new Set(await this.resolve(name))].sort().map((host) => joinHostPort(host, port));
      if (addresses.length === 0) throw new Error("no addresses");
      if (this.failing.delete(entry)) this.events.log(`${entry} resolves again: ${addresses.join(", ")}`);
      this.lastGood.set(entry, addresses);
      return addresses;
    } catch (e) {
      const kept = this.lastGood.get(entry) ?? [];
      if (!this.failing.has(entry)) {
        this.failing.add(entry);
        this.events.log(`cannot resolve ${entry} (${(e as Error).message}); ${kept.length > 0 ? `keeping ${kept.join(", ")}` : "will retry"}`);
      }
      return kept;
    }
  }
}
