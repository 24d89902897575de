// What of the service's root a run's user may reach. Invariant: a run's user reaches its own
// workspace, script, Docker directory and /tmp, and nothing else: the directories above them are
// passable by it alone (0710, the run's group), the root and its top directories passable by all
// (0711, never listable), and everything the service keeps for itself is closed (0700).
import { execFile } from "node:child_process";
import { chmod, chown, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { RunIdentity } from "./run-jail.ts";

const run = promisify(execFile);

/** Gives a tree to the run's user (symlinks themselves, never what they point to). */
export async function chownTree(dir: string, user: RunIdentity): Promise<void> {
  await run("chown", ["-R", "--no-dereference", `${user.uid}:${user.gid}`, "--", dir]);
}

/**
 * Opens the way from `root` down to `target`'s parent for the run's user: the root and its top
 * directories (builds/, sessions/, …) to all users, exactly 0711; a run's own directories below
 * them to its group only (root:<gid>, 0710), so another project knowing the run's ID cannot pass.
 */
export async function passable(target: string, root: string, gid: number): Promise<void> {
  for (let dir = path.dirname(target); dir === root || dir.startsWith(`${root}/`); dir = path.dirname(dir)) {
    const shared = dir === root || path.dirname(dir) === root;
    const info = await stat(dir);
    if (shared) {
      if ((info.mode & 0o7777) !== 0o711) await chmod(dir, 0o711);
    } else {
      if (info.uid !== 0 || info.gid !== gid) await chown(dir, 0, gid);
      if ((info.mode & 0o7777) !== 0o710) await chmod(dir, 0o710);
    }
    if (dir === root) break;
  }
}
