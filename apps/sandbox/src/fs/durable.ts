// Small filesystem steps that survive a crash at any instant: write to a temporary name, fsync,
// rename into place, fsync the directory. A reader sees the old file or the new one, never half.
import { randomUUID } from "node:crypto";
import { open, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { runOnDaemonFiles } from "./daemon-files.ts";

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  const handle = await open(tmp, "w", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(file));
}

/** Points `link` at `target`, replacing any previous link in one rename. */
export async function replaceSymlinkAtomic(link: string, target: string): Promise<void> {
  const tmp = path.join(path.dirname(link), `.${path.basename(link)}.${randomUUID()}.tmp`);
  await symlink(target, tmp);
  try {
    await rename(tmp, link);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(link));
}

/**
 * rm -rf that is idempotent: a path that is already gone is a success. Run where it reaches what
 * a daemon wrote (daemon-files.ts): any tree may hold a Docker directory.
 */
export async function removeTree(target: string): Promise<void> {
  await runOnDaemonFiles(["rm", "-rf", "--", target]);
}
