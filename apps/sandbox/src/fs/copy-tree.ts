// Copies a Docker data directory the way `cp -a` does (modes, owners, timestamps, symlinks, hard
// links within the tree, xattrs such as overlay2's `trusted.overlay.opaque`, sparse files,
// device nodes, empty directories), cloning blocks where the filesystem supports reflinks, and
// in parallel where it does not.
//
// GNU cp already copies every kind of file correctly, so the work is split rather than redone:
// the tree is walked once and cut into batches of similar size (copy-plan.ts), and the batches
// are copied by several `cp -a --reflink=auto` processes at once. What cutting the tree would lose
// is put back afterwards: the directories that were cut through are created first with their
// attributes (GNU tar, no recursion, xattrs included) and get their times back last, and hard
// links whose names ended up in different batches are linked again.
import { link, lstat, mkdir, unlink } from "node:fs/promises";
import path from "node:path";
import { type CopyPlan, defaultWorkers, isSafePlan, planCopy, worthSplitting } from "./copy-plan.ts";
import { reachesDaemonFilesItself, runOnDaemonFiles, ToolError } from "./daemon-files.ts";
import { clonesFiles } from "./reflink.ts";

export interface CopyProgress {
  copiedBytes: number;
  totalBytes: number;
}

interface CopyOptions {
  signal?: AbortSignal;
  /** How many cp processes run at once; defaults to the number of CPUs (at least 2). */
  workers?: number;
  onProgress?: (progress: CopyProgress) => void;
  /** Trees smaller than this are copied by one cp; splitting them costs more than it saves. */
  parallelFromBytes?: number;
  /** A plan made earlier for this very tree (a golden never changes): saves walking it again. */
  plan?: CopyPlan;
}

class CopyError extends Error {
  override name = "CopyError";
}

/** The disk filled up; callers turn this into a message that names the cause. */
class DiskFullError extends CopyError {
  override name = "DiskFullError";
}

export async function copyTree(source: string, destination: string, options: CopyOptions = {}): Promise<CopyProgress> {
  const workers = Math.max(1, options.workers ?? defaultWorkers());
  const plan =
    options.plan && isSafePlan(options.plan)
      ? options.plan
      : await planCopy(source, { workers, parallelFromBytes: options.parallelFromBytes });
  const progress: CopyProgress = { copiedBytes: 0, totalBytes: plan.totalBytes };
  options.onProgress?.({ ...progress });

  const split =
    worthSplitting(plan, { reflink: await clonesFiles(path.dirname(destination)) }) &&
    // Relinking and timing directories after the batches are the service's own file calls.
    (await reachesDaemonFilesItself());
  if (!split) {
    // Small enough that one cp is as fast as several: copy the whole tree in one go.
    await runCp(["-a", "--reflink=auto", "--", source, destination], path.dirname(source), options.signal);
    progress.copiedBytes = progress.totalBytes;
    options.onProgress?.({ ...progress });
    return progress;
  }

  // Directory attributes come from GNU tar in POSIX format: modes, owners, xattrs and
  // nanosecond mtimes, without recursing. Packed before anything is copied.
  const relinkParents = [...new Set(plan.linkGroups.flatMap((paths) => paths.slice(1).map(path.dirname)))];
  const directories = [...new Set([...plan.cutDirs, ...relinkParents])].sort(byDepth);
  const cutArchive = await packDirectories(source, plan.cutDirs, options.signal);
  const finalArchive = await packDirectories(source, directories, options.signal);

  await mkdir(destination);
  await unpackDirectories(destination, cutArchive, options.signal);
  // Heaviest first, so no worker is left with a big batch at the end.
  const queue = [...plan.batches].sort((a, b) => b.weight - a.weight);
  const worker = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      await runCp(
        ["-a", "--reflink=auto", "-t", path.join(destination, batch.parent), "--", ...batch.names],
        path.join(source, batch.parent),
        options.signal,
      );
      progress.copiedBytes += batch.bytes;
      options.onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, queue.length) }, worker));
  await relinkAcrossBatches(destination, plan);
  // Adding children and relinking changed those directories' times: unpack them once more.
  await unpackDirectories(destination, finalArchive, options.signal);
  progress.copiedBytes = progress.totalBytes;
  return progress;
}

/** How GNU tar keeps everything cp -a keeps: POSIX format (nanosecond times), xattrs, ACLs. */
export const tarFlags = ["--format=posix", "--xattrs", "--xattrs-include=*", "--acls"];

/** Directories (and nothing inside them) with their modes, owners, xattrs and times, as a tar archive. */
async function packDirectories(source: string, dirs: string[], signal?: AbortSignal): Promise<Buffer> {
  const names = dirs.map((rel) => (rel === "" ? "." : rel));
  const chunks: Buffer[] = [];
  await runTool("tar", ["-C", source, "--no-recursion", ...tarFlags, "-cf", "-", "--", ...names], {
    signal,
    onStdout: (chunk) => chunks.push(chunk),
  });
  return Buffer.concat(chunks);
}

/** Creates or updates those directories under `destination`, leaving their contents alone. */
async function unpackDirectories(destination: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
  await runTool("tar", ["-C", destination, ...tarFlags, "--same-owner", "-xpf", "-"], { signal, stdin: archive });
}

function byDepth(a: string, b: string): number {
  const depth = (rel: string) => (rel === "" ? 0 : rel.split(path.sep).length);
  return depth(a) - depth(b) || a.localeCompare(b);
}

/** Hard links whose names were copied by different cp processes became copies: link them again. */
async function relinkAcrossBatches(destination: string, plan: CopyPlan): Promise<void> {
  for (const paths of plan.linkGroups) {
    const [first, ...others] = paths as [string, ...string[]];
    const target = path.join(destination, first);
    const targetStat = await lstat(target);
    for (const other of others) {
      const name = path.join(destination, other);
      const stat = await lstat(name);
      if (stat.ino === targetStat.ino) continue;
      await unlink(name);
      await link(target, name);
    }
  }
}

function runCp(args: string[], cwd: string, signal?: AbortSignal): Promise<void> {
  return runTool("cp", args, { cwd, signal });
}

/** Runs a tool to its end; its stderr becomes the error, a full disk a DiskFullError. */
async function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; signal?: AbortSignal; stdin?: Buffer; onStdout?: (chunk: Buffer) => void },
): Promise<void> {
  try {
    await runOnDaemonFiles([command, ...args], options);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    if (/No space left on device|Disk quota exceeded/i.test(error.stderr)) throw new DiskFullError(error.message);
    throw new CopyError(error.message);
  }
}
