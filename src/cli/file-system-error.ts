/**
 * A file the command could not write or read because of the file system (a full disk, a read-only
 * mount, a folder where a file was asked for): one line naming the path and the reason, never a
 * stack trace. A full disk is the machine's state (exit 1); the others are a path the user chose (2).
 */

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "it is a folder",
  ENOTDIR: "a part of the path is a file, not a folder",
  EEXIST: "it already exists",
  ENAMETOOLONG: "name too long",
};

/** The line and exit code for a file system error, or undefined for any other error. */
export function fileSystemError(e: unknown, command: string | undefined): { text: string; exitCode: number } | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || !err.code || !(err.code in REASONS) || !err.syscall) return undefined;
  const where = err.path ? `${err.path}: ` : "";
  const full = err.code === "ENOSPC" || err.code === "EDQUOT";
  return { text: `sweep ${command}: ${where}cannot ${err.syscall}: ${REASONS[err.code]}${full ? " (free some space and run it again)" : ""}\n`, exitCode: full ? 1 : 2 };
}
