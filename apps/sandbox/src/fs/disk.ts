import { statfs } from "node:fs/promises";
import { runOnDaemonFiles } from "./daemon-files.ts";

/** Bytes an unprivileged writer can still use on the filesystem holding `path`. */
export async function diskFreeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

/** Whether an error is the filesystem being full (or a disk quota reached). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || (error as Error | null)?.name === "DiskFullError";
}

/**
 * Bytes of disk the trees at `paths` use together, whoever owns their files (blocks, hard links
 * counted once, one filesystem each; paths that do not exist count nothing): what a run has written.
 */
export async function diskUsedBytes(paths: string[]): Promise<number> {
  let stdout = "";
  // du ends with an error for a path that is missing, and still prints the total of the others.
  await runOnDaemonFiles(["du", "-s", "-c", "-x", "-B1", "--", ...paths], {
    onStdout: (chunk) => (stdout += chunk.toString()),
  }).catch(() => undefined);
  const total = /^([0-9]+)\s+total$/m.exec(stdout);
  return total ? Number(total[1]) : 0;
}
