import { randomUUID } from "node:crypto";
import { constants, copyFile, rm, writeFile } from "node:fs/promises";
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
