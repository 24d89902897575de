// The plan of a copy of a Docker data directory (see copy-tree.ts for the copy itself): one walk
// of the tree measures it (each hard-linked inode counted once) and cuts it into batches of
// similar weight for several cp processes. A plan is plain data, so a golden keeps the one made at
// its promotion beside it and every later copy of it starts copying at once.
import { availableParallelism } from "node:os";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { runOnDaemonFiles } from "./daemon-files.ts";

/** How to copy one tree. */
export interface CopyPlan {
  /** Apparent size of the tree, each hard-linked inode counted once. */
  totalBytes: number;
  /** Directories created before the batches run, parents first; empty for a single cp. */
  cutDirs: string[];
  /** `bytes` as the user counts them (apparent sizes), `weight` as the disk does (allocated). */
  batches: { parent: string; names: string[]; bytes: number; weight: number }[];
  /** Hard-linked inodes with names in more than one place: every relative path of each. */
  linkGroups: string[][];
  /** Files, directories and links in the tree; absent from plans stored before it was counted. */
  entries?: number;
}

const maxNamesPerBatch = 512;
const smallTreeBytes = 32 * 1024 * 1024;
/**
 * Where files are cloned rather than copied (reflink), a copy costs per entry, not per byte:
 * below this many entries one `cp -a` beats the split's fixed costs (tar, several processes).
 * Measured with bench/golden-copy on real Docker data roots on XFS (medians of 5): one cp takes
 * about 45 µs per entry, the split about 0.16 s plus 23 µs per entry (5,573 entries: one cp
 * 0.24 s, split 0.29 s; 25,105 entries: 1.14 s and 0.74 s), so they cross near 7,500 entries.
 */
const reflinkSplitFromEntries = 10_000;

export function defaultWorkers(): number {
  return Math.max(2, availableParallelism());
}

interface DirEntry {
  rel: string;
  children: string[];
  bytes: number;
  weight: number;
}

/** Walks the tree once: its size (each hard-linked inode counted once), and where to cut it. */
export async function planCopy(
  source: string,
  options: { workers?: number; parallelFromBytes?: number } = {},
): Promise<CopyPlan> {
  const workers = Math.max(1, options.workers ?? defaultWorkers());
  const parallelFromBytes = options.parallelFromBytes ?? smallTreeBytes;
  const top: DirEntry = { rel: "", children: [], bytes: 0, weight: 0 };
  const dirs = new Map<string, DirEntry>([["", top]]);
  const files = new Map<string, { bytes: number; weight: number }>();
  const seenInodes = new Map<string, string[]>();
  // find lists a directory before what it holds, each directory's names in the order it reads them.
  for (const child of await listTree(source)) {
    const parent = dirs.get(path.dirname(child.rel) === "." ? "" : path.dirname(child.rel));
    if (!parent) throw new Error(`${source}: ${child.rel} was listed before its directory`);
    parent.children.push(path.basename(child.rel));
    if (child.type === "d") {
      dirs.set(child.rel, { rel: child.rel, children: [], bytes: 0, weight: 0 });
      continue;
    }
    let bytes = child.type === "f" ? child.size : 0;
    // A sparse file costs what it occupies, not what it claims; every entry costs a little.
    let weight = Math.min(bytes, child.blocks * 512) + 512;
    if (child.links > 1) {
      const paths = seenInodes.get(child.inode);
      if (paths) {
        paths.push(child.rel);
        bytes = 0;
        weight = 512;
      } else {
        seenInodes.set(child.inode, [child.rel]);
      }
    }
    files.set(child.rel, { bytes, weight });
    parent.bytes += bytes;
    parent.weight += weight;
  }
  // Each directory's size into its parent's, the deepest first.
  const depth = (rel: string) => (rel === "" ? 0 : rel.split(path.sep).length);
  for (const dir of [...dirs.values()].sort((a, b) => depth(b.rel) - depth(a.rel))) {
    if (dir.rel === "") continue;
    const parent = dirs.get(path.dirname(dir.rel) === "." ? "" : path.dirname(dir.rel)) as DirEntry;
    parent.bytes += dir.bytes;
    parent.weight += dir.weight;
  }
  const totalBytes = top.bytes;
  // Sorted, so each group's first name does not depend on the order of the listing.
  const linkGroups = [...seenInodes.values()].filter((paths) => paths.length > 1).map((paths) => paths.sort());
  const plan: CopyPlan = { totalBytes, cutDirs: [], batches: [], linkGroups, entries: dirs.size - 1 + files.size };
  if (workers < 2 || top.weight < parallelFromBytes) return plan;

  // Cut any directory holding more than a share of the work, so the batches are of similar size
  // and the workers finish together.
  const share = Math.max(top.weight / (workers * 8), 1);
  const cut = (rel: string) => {
    plan.cutDirs.push(rel);
    const dir = dirs.get(rel) as DirEntry;
    let pending = { names: [] as string[], bytes: 0, weight: 0 };
    const flush = () => {
      if (pending.names.length > 0) plan.batches.push({ parent: rel, ...pending });
      pending = { names: [], bytes: 0, weight: 0 };
    };
    for (const name of dir.children) {
      const childRel = rel === "" ? name : path.join(rel, name);
      const childDir = dirs.get(childRel);
      const child = childDir ?? files.get(childRel) ?? { bytes: 0, weight: 0 };
      if (childDir && child.weight > share && childDir.children.length > 0) {
        cut(childRel);
        continue;
      }
      if (pending.names.length >= maxNamesPerBatch || (pending.weight > 0 && pending.weight + child.weight > share)) {
        flush();
      }
      pending.names.push(name);
      pending.bytes += child.bytes;
      pending.weight += child.weight;
    }
    flush();
  };
  cut("");
  return plan;
}

/**
 * Whether copying by the plan's batches beats one `cp -a` of the whole tree: there are batches,
 * and where files are cloned (`reflink`) there are enough entries to pay for the split.
 */
export function worthSplitting(plan: CopyPlan, options: { reflink: boolean }): boolean {
  if (plan.batches.length === 0) return false;
  return !options.reflink || plan.entries === undefined || plan.entries >= reflinkSplitFromEntries;
}

/** A stored plan only ever names paths inside the tree; anything else is ignored and replanned. */
export function isSafePlan(plan: CopyPlan): boolean {
  const relative = (rel: string) => !path.isAbsolute(rel) && !rel.split(path.sep).includes("..");
  const name = (n: string) => n !== "" && n !== "." && n !== ".." && !n.includes(path.sep);
  return (
    plan.cutDirs.every(relative) &&
    plan.batches.every((b) => relative(b.parent) && b.names.every(name)) &&
    plan.linkGroups.every((group) => group.every((rel) => relative(rel) && rel !== ""))
  );
}

interface ListedEntry {
  rel: string;
  /** find's letter: d directory, f regular file, l symlink, and so on. */
  type: string;
  size: number;
  blocks: number;
  links: number;
  /** Device and inode: the same for every name of a hard-linked file. */
  inode: string;
}

/**
 * Every entry below `source` (not itself), from one `find` (run where it reaches whatever a daemon
 * wrote): far fewer system calls than walking it from here, and it lists what the service could
 * not open itself.
 */
async function listTree(source: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  const decoder = new StringDecoder("utf8");
  let pending = "";
  const take = (text: string) => {
    const records = (pending + text).split("\0");
    pending = records.pop() ?? "";
    for (const record of records) {
      // Five fields, then the path, which may hold spaces.
      const [type = "", size, blocks, links, inode = ""] = record.split(" ", 5);
      const rel = record.split(" ").slice(5).join(" ");
      entries.push({ rel, type, size: Number(size), blocks: Number(blocks), links: Number(links), inode });
    }
  };
  await runOnDaemonFiles(["find", source, "-mindepth", "1", "-printf", "%y %s %b %n %D:%i %P\\0"], {
    onStdout: (chunk) => take(decoder.write(chunk)),
  });
  take(decoder.end());
  return entries;
}
