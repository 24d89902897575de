// The size of a directory tree in bytes as a user thinks of it: the apparent size of every file,
// each hard-linked inode counted once, symlinks and directories as zero.
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

export async function treeSize(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        pending.push(full);
      } else if (entry.isFile()) {
        const stat = await lstat(full, { bigint: true });
        const key = `${stat.dev}:${stat.ino}`;
        if (stat.nlink > 1n) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += Number(stat.size);
      }
    }
  }
  return total;
}
