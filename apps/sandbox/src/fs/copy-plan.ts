// The plan of a copy of a Docker data directory (see copy-tree.ts for the copy itself): one walk
// of the tree measures it (each hard-linked inode counted once) and cuts it into batches of
// similar weight for several cp processes. A plan is plain data, so a golden keeps the one made at
// its promotion beside it and every later copy of it starts copying at once.
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";

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
  const dirs = new Map<string, DirEntry>();
  const files = new Map<string, { bytes: number; weight: number }>();
  const seenInodes = new Map<string, string[]>();
  const walk = async (rel: string): Promise<DirEntry> => {
    const entry: DirEntry = { rel, children: [], bytes: 0, weight: 0 };
    dirs.set(rel, entry);
    const names = await readdir(path.join(source, rel));
    entry.children = names;
    // lstat a directory's entries together, and walk its subdirectories together: the walk is
    // bound by syscall latency, not CPU.
    const stats = await Promise.all(names.map((name) => lstat(path.join(source, rel, name))));
    const subdirs: Promise<DirEntry>[] = [];
    for (const [i, name] of names.entries()) {
      const childRel = rel === "" ? name : path.join(rel, name);
      const child = stats[i] as Stats;
      if (child.isDirectory()) {
        subdirs.push(walk(childRel));
        continue;
      }
      let bytes = child.isFile() ? child.size : 0;
      // A sparse file costs what it occupies, not what it claims; every entry costs a little.
      let weight = Math.min(bytes, child.blocks * 512) + 512;
      if (child.nlink > 1) {
        const key = `${child.dev}:${child.ino}`;
        const paths = seenInodes.get(key);
        if (paths) {
          paths.push(childRel);
          bytes = 0;
          weight = 512;
        } else {
          seenInodes.set(key, [childRel]);
        }
      }
      files.set(childRel, { bytes, weight });
      entry.bytes += bytes;
      entry.weight += weight;
    }
    for (const sub of await Promise.all(subdirs)) {
      entry.bytes += sub.bytes;
      entry.weight += sub.weight;
    }
    return entry;
  };
  const top = await walk("");
  const totalBytes = top.bytes;
  // Walks finish in any order: sort each group, so its first name does not depend on timing.
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
