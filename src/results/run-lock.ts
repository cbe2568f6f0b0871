/**
 * One writer per run folder. `<run>/.lock` is created with O_EXCL (atomic on local disks and on
 * NFS v3+/Lustre) and holds who owns it: host, pid, start time and a heartbeat the owner rewrites
 * every few seconds. A lock is stale, and taken over, when its heartbeat is older than STALE_MS, or
 * at once when its owner ran on this host and that pid is gone: a requeued Slurm job or a
 * restarted Kubernetes coordinator resumes its folder without anyone deleting files by hand.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { RunDirError } from "./run-dir.js";

export const LOCK_FILE = ".lock";
/** The owner rewrites its heartbeat this often. */
export const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this (six missed beats) means the owner is gone. */
export const STALE_MS = 30_000;

export interface LockOwner {
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}

export class RunLockedError extends RunDirError {}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why a lock's owner is gone, or undefined while it holds the folder. */
export function staleReason(owner: LockOwner | undefined, now = Date.now()): string | undefined {
  if (!owner || typeof owner.heartbeat_at !== "string") return "the lock file is unreadable";
  if (owner.host === hostname() && !pidAlive(owner.pid)) return `process ${owner.pid} on this host is gone`;
  // This process does not hold a lock it is asking about: one naming its own host and pid was left by
  // an earlier process that had them (a restarted container: same hostname, pid 1 again).
  if (owner.host === hostname() && owner.pid === process.pid) return `it names this process (${owner.pid} on this host): an earlier process with the same pid left it`;
  const age = now - Date.parse(owner.heartbeat_at);
  if (!(age <= STALE_MS)) return `its heartbeat is ${Math.round(age / 1000)} s old`;
  return undefined;
}

export function describeOwner(o: LockOwner): string {
  return `process ${o.pid} on ${o.host} (since ${o.started_at}, last heartbeat ${o.heartbeat_at})`;
}

/** The owner of a held folder, or undefined when it is free or its lock is stale. */
export function lockHolder(runDir: string): LockOwner | undefined {
  const owner = readOwner(path.join(runDir, LOCK_FILE));
  return owner && !staleReason(owner) ? owner : undefined;
}

export class RunLock {
  private readonly timer: NodeJS.Timeout;
  private released = false;

  private constructor(private readonly file: string, private readonly owner: LockOwner) {
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Takes the folder's lock, taking over a stale one; refuses (exit 2) while another process holds it. */
  static acquire(runDir: string, log: (line: string) => void = () => {}): RunLock {
    const file = path.join(runDir, LOCK_FILE);
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = new Date().toISOString();
      const owner: LockOwner = { host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now };
      try {
        const fd = openSync(file, "wx");
        writeSync(fd, JSON.stringify(owner));
        closeSync(fd);
        return new RunLock(file, owner);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new RunDirError(`cannot lock ${runDir}: ${(e as Error).message}`);
      }
      const held = readOwner(file);
      const stale = staleReason(held);
      if (!stale) {
        throw new RunLockedError(`${runDir} is being written by ${describeOwner(held as LockOwner)}; one coordinator at a time (its lock is ${file})`);
      }
      // Moved aside, not deleted: of two coordinators taking over at once, one rename wins.
      try {
        renameSync(file, `${file}.stale-${process.pid}`);
        rmSync(`${file}.stale-${process.pid}`, { force: true });
        log(`took over the lock of ${runDir}: ${stale}`);
      } catch {
        // another process moved it first; try again
      }
    }
    throw new RunLockedError(`cannot lock ${runDir}: other processes keep taking its lock (${file})`);
  }

  private beat(): void {
    if (this.released) return;
    const current = readOwner(this.file);
    // Never write over a lock that is no longer ours.
    if (!current || current.pid !== this.owner.pid || current.host !== this.owner.host || current.started_at !== this.owner.started_at) return;
    const tmp = `${this.file}.${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify({ ...this.owner, heartbeat_at: new Date().toISOString() }));
      renameSync(tmp, this.file);
    } catch {
      // A full disk: the run is stopping for it; a missed beat only makes the lock stale sooner.
      rmSync(tmp, { force: true });
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    const current = readOwner(this.file);
    if (current && current.pid === this.owner.pid && current.host === this.owner.host && current.started_at === this.owner.started_at && existsSync(this.file)) {
      rmSync(this.file, { force: true });
    }
  }
}
