import { randomUUID } from "node:crypto";
import { constants, copyFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import path from "node:path";

/** Whether the filesystem holding `dir` clones files (XFS with reflink, btrfs): tried, not guessed. */
export async function supportsReflink(dir: string): Promise<boolean> {
  const probe = path.join(dir, `.reflink-probe-${randomUUID()}`);
  try {
    await writeFile(probe, "probe");
    await copyFile(probe, `${probe}.clone`, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
    await rm(`${probe}.clone`, { force: true });
  }
}

const byFilesystem = new Map<string, Promise<boolean>>();

/** The same answer for any directory, tried once per filesystem (a copy asks before every start). */
export async function clonesFiles(dir: string): Promise<boolean> {
  // A device number alone could name another filesystem later (a loop device mounted again).
  const key = `${(await stat(dir)).dev}:${(await statfs(dir)).type}`;
  let answer = byFilesystem.get(key);
  if (!answer) {
    answer = supportsReflink(dir);
    byFilesystem.set(key, answer);
  }
  return answer;
}
