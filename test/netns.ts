/**
 * Hosts with their own network, for tests: one network namespace per host, each plugged by a veth
 * pair into a bridge that sits in a namespace of its own (the switch), so this machine's own
 * network gains no interface, address or route. `ip netns exec NS` bind-mounts the files of
 * /etc/netns/NS/ over /etc/, which is how every host reads its own /etc/hosts and /etc/host.conf.
 * Needs root and iproute2.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Namespaces are named PREFIX-<pid of the test process>-<host>: a dead pid's leftovers are removed. */
const PREFIX = "sweeptest";
const ETC_NETNS = "/etc/netns";

function ip(...args: string[]): string {
  return execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
}

const reason = (e: unknown) => ((e as { stderr?: string }).stderr?.trim() || (e as Error).message).split("\n")[0];

/** Why network namespaces cannot be made here, or null where they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root: ip netns add needs root";
  const probe = `${PREFIX}-${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
  } catch (e) {
    return `ip netns add fails: ${reason(e)}`;
  }
  ip("netns", "del", probe);
  return null;
}

export interface Host {
  name: string;
  address: string;
  namespace: string;
  /** Runs a command on this host: put it before the command's argv. */
  exec: string[];
}

export interface Network {
  hosts: Record<string, Host>;
  /** Unplugs the host's cable at the switch (false) or plugs it back in (true). */
  setLink(host: string, up: boolean): void;
  /** Kills what runs on the hosts, removes the namespaces (their links go with them) and hosts files. */
  destroy(): void;
}

/** Kills every process inside a namespace, deletes it and its /etc/netns folder; missing parts are skipped. */
function removeNamespace(ns: string): void {
  let pids: string[] = [];
  try {
    pids = ip("netns", "pids", ns).split(/\s+/).filter(Boolean);
  } catch {
    // Already gone.
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  try {
    ip("netns", "del", ns);
  } catch {
    // Already gone.
  }
  rmSync(path.join(ETC_NETNS, ns), { recursive: true, force: true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Namespaces left by a test process that died before its cleanup (SIGKILLed vitest). */
function removeLeftovers(): void {
  for (const line of ip("netns", "list").split("\n")) {
    const m = new RegExp(`^(${PREFIX}-(\\d+)-\\S+)`).exec(line);
    if (m && !alive(Number(m[2]))) removeNamespace(m[1]);
  }
}

/**
 * One host per entry of `addresses` (name -> IPv4 address, all in one /24), all on one switch,
 * loopback up, each with `hostsFile` as its /etc/hosts. Removes what it made if a step fails.
 */
export function makeNetwork(addresses: Record<string, string>, hostsFile: string): Network {
  removeLeftovers();
  const tag = `${PREFIX}-${process.pid}`;
  const switchNs = `${tag}-switch`;
  // Empty: left by a test process that died (removeLeftovers emptied it); removed at the end too.
  const ownsEtcNetns = !existsSync(ETC_NETNS) || readdirSync(ETC_NETNS).length === 0;
  const made: string[] = [];
  const addNamespace = (ns: string) => {
    made.push(ns);
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
  };
  const port = (host: string) => `p-${host}`;
  const network: Network = {
    hosts: {},
    setLink: (host, up) => void ip("-n", switchNs, "link", "set", port(host), up ? "up" : "down"),
    destroy() {
      for (const ns of made.splice(0).reverse()) removeNamespace(ns);
      if (ownsEtcNetns) {
        try {
          rmdirSync(ETC_NETNS);
        } catch {
          // Gone, or not empty: another test process's hosts are in it.
        }
      }
    },
  };
  try {
    addNamespace(switchNs);
    ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
    ip("-n", switchNs, "link", "set", "br0", "up");
    for (const [name, address] of Object.entries(addresses)) {
      const namespace = `${tag}-${name}`;
      addNamespace(namespace);
      mkdirSync(path.join(ETC_NETNS, namespace), { recursive: true });
      writeFileSync(path.join(ETC_NETNS, namespace, "hosts"), hostsFile);
      // Without `multi on` (Debian's host.conf has it; glibc's default is off) a name on several
      // lines of /etc/hosts resolves to its first address only.
      writeFileSync(path.join(ETC_NETNS, namespace, "host.conf"), "multi on\n");
      ip("-n", switchNs, "link", "add", port(name), "type", "veth", "peer", "name", "eth0", "netns", namespace);
      ip("-n", switchNs, "link", "set", port(name), "master", "br0", "up");
      ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", namespace, "link", "set", "eth0", "up");
      network.hosts[name] = { name, address, namespace, exec: ["ip", "netns", "exec", namespace] };
    }
  } catch (e) {
    network.destroy();
    throw e;
  }
  return network;
}
