import { statfs } from "node:fs/promises";

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
