// The manifest of a tree: what a copy of it must hold, path by path (type, mode, owner, size,
// modification time, symlink target, device number, which paths are one hard-linked file,
// xattrs, and the SHA-256 of each file's content). Two trees with equal manifests are the same to
// a Docker daemon: overlay's whiteouts are 0:0 device nodes and its opaque directories xattrs.
// Made by tools run where every file a daemon wrote is reachable (daemon-files.ts): `find` for the
// metadata, `stat` for device numbers, `getfattr` for xattrs and hash-files.mjs for contents.

import { readFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { fileURLToPath } from "node:url";
import type { components } from "@prewarm/api-types/sandbox";
import { runOnDaemonFiles } from "./daemon-files.ts";

export type ManifestEntry = components["schemas"]["ManifestEntry"];

export interface TreeManifest {
  /** Every path, sorted; `.` is the tree's top. */
  entries: ManifestEntry[];
  /** The sum of every file's size, each hard-linked file once. */
  fileBytes: number;
}

// Read when the service starts: a service that drops root after loading (or runs the program in a
// user namespace, as the developer's subordinate root) may not be able to open its own files later.
const hashFilesProgram = readFileSync(fileURLToPath(new URL("./hash-files.mjs", import.meta.url)), "utf8");
const typeOfLetter: Record<string, ManifestEntry["type"]> = {
  d: "dir",
  f: "file",
  l: "symlink",
  c: "char",
  b: "block",
  p: "fifo",
  s: "socket",
};

export async function treeManifest(root: string, options: { signal?: AbortSignal } = {}): Promise<TreeManifest> {
  const { signal } = options;
  const byPath = new Map<string, ManifestEntry>();
  const inodes = new Map<string, string[]>();
  let fileBytes = 0;
  // Three NUL-ended fields per entry: the metadata, the path, the symlink target (empty if none).
  const listed = await nulFields(["find", ".", "-printf", "%y %m %U %G %s %T@ %n %D:%i\\0%P\\0%l\\0"], root, signal);
  for (let i = 0; i + 2 < listed.length; i += 3) {
    const [letter = "", mode = "", uid, gid, size, mtime = "", links, inode = ""] = (listed[i] as string).split(" ");
    const rel = listed[i + 1] || ".";
    const entry: ManifestEntry = {
      path: rel,
      type: typeOfLetter[letter] ?? "file",
      mode,
      uid: Number(uid),
      gid: Number(gid),
    };
    if (entry.type !== "symlink") entry.mtime = mtime;
    if (entry.type === "symlink") entry.target = listed[i + 2] as string;
    if (entry.type === "file") entry.size = Number(size);
    if (entry.type !== "dir" && Number(links) > 1) {
      const names = inodes.get(inode);
      if (names) names.push(rel);
      else inodes.set(inode, [rel]);
      if (!names && entry.type === "file") fileBytes += entry.size ?? 0;
    } else if (entry.type === "file") {
      fileBytes += entry.size ?? 0;
    }
    byPath.set(rel, entry);
  }
  for (const names of inodes.values()) {
    const [first, ...others] = names.sort();
    for (const other of others) (byPath.get(other) as ManifestEntry).linked_to = first;
  }

  const devices = await nulFields(
    ["find", ".", "(", "-type", "c", "-o", "-type", "b", ")", "-exec", "stat", "--printf", "%t:%T\\0%n\\0", "{}", "+"],
    root,
    signal,
  );
  for (let i = 0; i + 1 < devices.length; i += 2) {
    const [major = "0", minor = "0"] = (devices[i] as string).split(":");
    const entry = byPath.get(relative(devices[i + 1] as string));
    if (entry) entry.rdev = `${Number.parseInt(major, 16)}:${Number.parseInt(minor, 16)}`;
  }

  for (const [rel, xattrs] of await readXattrs(root, signal)) {
    const entry = byPath.get(rel);
    if (entry) entry.xattrs = xattrs;
  }

  const files = [...byPath.values()].filter((entry) => entry.type === "file" && entry.linked_to === undefined);
  const hashed = await nulFields(
    [process.execPath, "--input-type=module", "--eval", hashFilesProgram],
    root,
    signal,
    files.map((f) => `${f.path}\0`).join(""),
  );
  for (const record of hashed) {
    const space = record.indexOf(" ");
    const entry = byPath.get(relative(record.slice(space + 1)));
    if (entry) entry.sha256 = record.slice(0, space);
  }
  // A hard link's content is its first name's.
  for (const entry of byPath.values()) {
    if (entry.linked_to !== undefined && entry.type === "file") entry.sha256 = byPath.get(entry.linked_to)?.sha256;
  }
  const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, fileBytes };
}

/**
 * How two manifests differ, one line per path (at most `limit`): empty when a copy is faithful.
 * `have` is the copy's, `want` the original's.
 */
export function manifestDifferences(have: ManifestEntry[], want: ManifestEntry[], limit = 10): string[] {
  const theirs = new Map(want.map((entry) => [entry.path, entry]));
  const differences: string[] = [];
  const say = (line: string) => {
    if (differences.length < limit) differences.push(line);
  };
  for (const entry of have) {
    const wanted = theirs.get(entry.path);
    theirs.delete(entry.path);
    if (!wanted) {
      say(`${entry.path}: not in the original`);
      continue;
    }
    const fields = new Set([...Object.keys(entry), ...Object.keys(wanted)]) as Set<keyof ManifestEntry>;
    const differing = [...fields].filter((field) => JSON.stringify(entry[field]) !== JSON.stringify(wanted[field]));
    if (differing.length > 0) say(`${entry.path}: ${differing.join(", ")} differ`);
  }
  for (const missing of theirs.keys()) say(`${missing}: missing`);
  return differences;
}

/** getfattr's names are relative to where it ran, with "./" for find's and stat's. */
function relative(name: string): string {
  if (name === ".") return ".";
  return name.startsWith("./") ? name.slice(2) : name;
}

/** Every entry's xattrs, values in hex, from one `getfattr` over the tree (symlinks not followed). */
async function readXattrs(root: string, signal?: AbortSignal): Promise<Map<string, Record<string, string>>> {
  // Read as bytes (latin1 keeps each byte a character): names come as they are on disk, UTF-8 or
  // not, except the bytes getfattr would not print, which it writes as \ooo.
  let text = "";
  await runOnDaemonFiles(["getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "."], {
    cwd: root,
    signal,
    onStdout: (chunk) => (text += chunk.toString("latin1")),
  });
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      const bytes = line
        .slice("# file: ".length)
        .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
      current = {};
      out.set(relative(Buffer.from(bytes, "latin1").toString("utf8")), current);
      continue;
    }
    const equals = line.indexOf("=");
    if (current && equals > 0) current[line.slice(0, equals)] = line.slice(equals + 1).replace(/^0x/, "");
  }
  return out;
}

/** What a tool writes, split at NUL bytes. */
async function nulFields(argv: string[], cwd: string, signal?: AbortSignal, input?: string): Promise<string[]> {
  const decoder = new StringDecoder("utf8");
  let text = "";
  await runOnDaemonFiles(argv, {
    cwd,
    signal,
    stdin: input === undefined ? undefined : Buffer.from(input),
    onStdout: (chunk) => (text += decoder.write(chunk)),
  });
  text += decoder.end();
  const fields = text.split("\0");
  fields.pop();
  return fields;
}
