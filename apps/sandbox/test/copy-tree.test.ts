import { execFileSync } from "node:child_process";
import { chown, link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setXattr, treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CopyProgress, copyTree } from "../src/fs/copy-tree.ts";
import { createDockerTree } from "./support/docker-tree.ts";

const isRoot = process.getuid?.() === 0;
let work: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "copy-tree-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Everything cp -a keeps, in awkward places: cut directories, links across batches. */
async function awkwardTree(root: string) {
  await createDockerTree(root, { layers: 6, filesPerLayer: 40, smallFileBytes: 3000, blobBytes: 200_000 });
  const odd = path.join(root, "odd");
  await mkdir(path.join(odd, "empty", "nested-empty"), { recursive: true });
  await writeFile(path.join(odd, "setuid"), "x");
  execFileSync("chmod", ["4755", path.join(odd, "setuid")]);
  await mkdir(path.join(odd, "sticky"));
  execFileSync("chmod", ["1777", path.join(odd, "sticky")]);
  await symlink("/nonexistent/target", path.join(odd, "dangling"));
  await symlink("/etc/hostname", path.join(odd, "absolute"));
  execFileSync("mkfifo", [path.join(odd, "pipe")]);
  await writeFile(path.join(odd, "name with spaces & 'quotes'"), "x");
  await writeFile(path.join(odd, "-looks-like-a-flag"), "x");
  // A hard link from one end of the tree to the other: its names land in different batches.
  await link(path.join(root, "image", "overlay2", "repositories.json"), path.join(odd, "repositories-link.json"));
  setXattr(path.join(odd, "setuid"), "user.checksum", "abc");
  setXattr(root, "user.root-attribute", "kept");
  if (isRoot) {
    await chown(path.join(odd, "sticky"), 1234, 5678);
    execFileSync("chown", ["-h", "4321:8765", path.join(odd, "dangling")]);
  }
  await utimes(odd, new Date("2021-06-07T08:09:10Z"), new Date("2021-06-07T08:09:10Z"));
  await utimes(path.join(root, "overlay2"), new Date("2022-01-01T00:00:00Z"), new Date("2022-01-01T00:00:00Z"));
}

describe("copying a Docker data directory", () => {
  it("in parallel keeps everything cp -a keeps", async () => {
    const source = path.join(work, "source");
    await awkwardTree(source);
    const expected = await treeManifest(source);
    const progress: CopyProgress[] = [];
    await copyTree(source, path.join(work, "copy"), {
      workers: 4,
      parallelFromBytes: 0,
      onProgress: (p) => progress.push(p),
    });
    expect(await treeManifest(path.join(work, "copy"))).toEqual(expected);

    // The same as cp -a itself would have made.
    execFileSync("cp", ["-a", source, path.join(work, "reference")]);
    expect(await treeManifest(path.join(work, "reference"))).toEqual(expected);

    // It was really split, and reported its progress up to the total.
    expect(progress.length).toBeGreaterThan(4);
    const copied = progress.map((p) => p.copiedBytes);
    expect(copied).toEqual([...copied].sort((a, b) => a - b));
    expect(progress.at(-1)?.copiedBytes).toBe(progress.at(-1)?.totalBytes);
  });

  it("keeps device nodes and overlay2's trusted xattrs", async (context) => {
    if (!isRoot) context.skip("character devices and trusted.* xattrs need root");
    const source = path.join(work, "source");
    await createDockerTree(source, { layers: 3, filesPerLayer: 5, smallFileBytes: 100, blobBytes: 0 });
    const manifest = await treeManifest(source);
    const whiteouts = Object.entries(manifest).filter(([, e]) => e.type === "char");
    const opaque = Object.entries(manifest).filter(([, e]) => e.xattrs?.["trusted.overlay.opaque"]);
    // Two layers delete files: each has its shared whiteout inode under work/work and two names in diff.
    expect(whiteouts.length).toBe(6);
    expect(whiteouts.filter(([, e]) => e.linkedTo).length).toBe(4);
    expect(opaque.length).toBe(2);
    await copyTree(source, path.join(work, "copy"), { workers: 3, parallelFromBytes: 0 });
    expect(await treeManifest(path.join(work, "copy"))).toEqual(manifest);
  });

  it("copies a small tree with one cp, just as faithfully", async () => {
    const source = path.join(work, "source");
    await awkwardTree(source);
    const progress: CopyProgress[] = [];
    await copyTree(source, path.join(work, "copy"), { onProgress: (p) => progress.push(p) });
    expect(await treeManifest(path.join(work, "copy"))).toEqual(await treeManifest(source));
    expect(progress.at(-1)?.copiedBytes).toBe(progress.at(-1)?.totalBytes);
  });

  it("stops when asked, with an error", async () => {
    const source = path.join(work, "source");
    await createDockerTree(source, { layers: 4, filesPerLayer: 50, smallFileBytes: 1000, blobBytes: 8_000_000 });
    const abort = new AbortController();
    const copying = copyTree(source, path.join(work, "copy"), {
      workers: 2,
      parallelFromBytes: 0,
      signal: abort.signal,
      onProgress: () => abort.abort(),
    });
    await expect(copying).rejects.toThrow();
  });
});
