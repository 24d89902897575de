import { readdir, readlink, stat, statfs } from "node:fs/promises";
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

/** tmpfs and ramfs hold memory, not disk (a run's /dev/shm is a small tmpfs; memfd files live in one). */
const memoryFilesystems = new Set([0x01021994, 0x858458f6]);

/**
 * Bytes of disk held by files that the processes `pids` keep open after deleting them (each file
 * once, on any disk filesystem, a container's overlay included): du no longer sees them, and a run
 * could otherwise fill the disk past its share unseen.
 */
export async function openDeletedBytes(pids: readonly number[]): Promise<number> {
  const counted = new Set<string>();
  let bytes = 0;
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const file = `/proc/${pid}/fd/${fd}`;
      if (!(await readlink(file).catch(() => "")).endsWith(" (deleted)")) continue;
      const info = await stat(file).catch(() => null);
      if (!info?.isFile() || counted.has(`${info.dev}:${info.ino}`)) continue;
      if (memoryFilesystems.has((await statfs(file).catch(() => ({ type: 0x01021994 }))).type)) continue;
      counted.add(`${info.dev}:${info.ino}`);
      bytes += info.blocks * 512;
    }
  }
  return bytes;
}
