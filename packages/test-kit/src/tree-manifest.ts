// A manifest of everything `cp -a` promises to keep about a tree: per path its type, mode,
// owner, size, mtime, content hash, symlink target, device number, xattrs, whether it is sparse,
// and which paths share an inode. Two trees with equal manifests are the same to a Docker daemon.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";

interface EntryManifest {
  type: "dir" | "file" | "symlink" | "fifo" | "char" | "block" | "socket";
  mode: string;
  uid: number;
  gid: number;
  mtimeMs?: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: number;
  sparse?: boolean;
  /** The first path (in sorted order) that shares this entry's inode. */
  linkedTo?: string;
  xattrs?: Record<string, string>;
}

type TreeManifest = Record<string, EntryManifest>;

export async function treeManifest(root: string, options: { times?: boolean } = {}): Promise<TreeManifest> {
  const out: TreeManifest = {};
  const inodes = new Map<string, string>();
  const xattrs = readXattrs(root);
  const walk = async (rel: string) => {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const full = path.join(root, relPath);
      const stat = await lstat(full);
      const entry: EntryManifest = {
        type: typeOf(stat),
        mode: (stat.mode & 0o7777).toString(8),
        uid: stat.uid,
        gid: stat.gid,
      };
      if (options.times !== false && entry.type !== "symlink") entry.mtimeMs = Math.floor(stat.mtimeMs);
      if (xattrs[relPath]) entry.xattrs = xattrs[relPath];
      if (entry.type === "file") {
        entry.size = stat.size;
        entry.sha256 = await hashFile(full);
        entry.sparse = stat.blocks * 512 < stat.size;
      } else if (entry.type === "symlink") {
        entry.target = await readlink(full);
      } else if (entry.type === "char" || entry.type === "block") {
        entry.rdev = stat.rdev;
      }
      if (entry.type !== "dir" && stat.nlink > 1) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = inodes.get(key);
        if (first) entry.linkedTo = first;
        else inodes.set(key, relPath);
      }
      out[relPath] = entry;
      if (entry.type === "dir") await walk(relPath);
    }
  };
  const rootStat = await lstat(root);
  out["."] = { type: "dir", mode: (rootStat.mode & 0o7777).toString(8), uid: rootStat.uid, gid: rootStat.gid };
  if (xattrs["."]) out["."].xattrs = xattrs["."];
  await walk("");
  return out;
}

function typeOf(stat: Awaited<ReturnType<typeof lstat>>): EntryManifest["type"] {
  if (stat.isDirectory()) return "dir";
  if (stat.isSymbolicLink()) return "symlink";
  if (stat.isFIFO()) return "fifo";
  if (stat.isCharacterDevice()) return "char";
  if (stat.isBlockDevice()) return "block";
  if (stat.isSocket()) return "socket";
  return "file";
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

// Node has no xattr API; Python's standard library does, and python3 is on every machine here.
const xattrScript = `
import json, os, sys
root = sys.argv[1]
out = {}
for dirpath, dirnames, filenames in os.walk(root):
    for name in [None] + dirnames + filenames:
        full = dirpath if name is None else os.path.join(dirpath, name)
        if name is None and dirpath != root:
            continue
        rel = os.path.relpath(full, root)
        try:
            names = os.listxattr(full, follow_symlinks=False)
        except OSError:
            continue
        if names:
            out[rel] = {n: os.getxattr(full, n, follow_symlinks=False).hex() for n in sorted(names)}
print(json.dumps(out))
`;

function readXattrs(root: string): Record<string, Record<string, string>> {
  return JSON.parse(execFileSync("python3", ["-c", xattrScript, root], { encoding: "utf8" }));
}

export function setXattr(file: string, name: string, value: string): void {
  execFileSync("python3", [
    "-c",
    "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)",
    file,
    name,
    value,
  ]);
}
