// A synthetic Docker data directory shaped like overlay2: layers of many small files and some
// large blobs, the `l/` symlink farm, image metadata, volumes, hard links shared between layers,
// whiteouts (character devices 0:0) and opaque directories (trusted.overlay.opaque). As in a real
// root, a layer's whiteouts are hard links of one inode under its `work/work/`, its `diff` carries
// `trusted.overlay.uuid` and `trusted.overlay.impure`, and its directories copied up from below
// `trusted.overlay.origin` (binary). Tests use small ones; bench/golden-copy uses one of about 2 GB.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, symlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { setXattr } from "@prewarm/test-kit/tree-manifest";

export interface DockerTreeOptions {
  layers: number;
  filesPerLayer: number;
  /** Size of each small file. */
  smallFileBytes: number;
  /** One large blob per layer of this size (0 for none). */
  blobBytes: number;
  /** Marks every file's content, so a tree made with another mark differs in every file. */
  mark?: string;
}

const isRoot = process.getuid?.() === 0;

export async function createDockerTree(root: string, options: DockerTreeOptions): Promise<void> {
  const mark = options.mark ?? "golden";
  await mkdir(path.join(root, "overlay2", "l"), { recursive: true });
  await mkdir(path.join(root, "image", "overlay2", "layerdb", "sha256"), { recursive: true });
  await mkdir(path.join(root, "volumes", "registry", "_data"), { recursive: true });
  await mkdir(path.join(root, "buildkit"), { recursive: true });
  await mkdir(path.join(root, "containers"), { recursive: true });
  let previousShared: string | null = null;
  for (let layer = 0; layer < options.layers; layer++) {
    const id = `${mark}${String(layer).padStart(4, "0")}${"0".repeat(40)}`.slice(0, 64);
    const diff = path.join(root, "overlay2", id, "diff");
    for (let f = 0; f < options.filesPerLayer; f++) {
      const dir = path.join(diff, "usr", "lib", `pkg${f % 16}`);
      await mkdir(dir, { recursive: true });
      const header = `${mark}:${layer}:${f}\n`;
      const body = options.smallFileBytes > header.length ? randomBytes(options.smallFileBytes - header.length) : "";
      await writeFile(path.join(dir, `file${f}.so`), Buffer.concat([Buffer.from(header), Buffer.from(body)]));
    }
    if (options.blobBytes > 0) await writeBlob(path.join(diff, "blob.bin"), options.blobBytes, `${mark}:${layer}`);
    await writeFile(path.join(root, "overlay2", id, "link"), id.slice(0, 26));
    await symlink(`../${id}/diff`, path.join(root, "overlay2", "l", id.slice(0, 26)));
    await mkdir(path.join(root, "overlay2", id, "work"), { recursive: true });
    await mkdir(path.join(root, "image", "overlay2", "layerdb", "sha256", id), { recursive: true });
    await writeFile(path.join(root, "image", "overlay2", "layerdb", "sha256", id, "diff"), `sha256:${id}\n`);
    // BuildKit hard-links identical files between snapshots.
    const shared = path.join(diff, "etc", "shared.conf");
    await mkdir(path.dirname(shared), { recursive: true });
    if (previousShared) await link(previousShared, shared);
    else await writeFile(shared, `${mark}:shared\n`);
    previousShared = shared;
    if (layer > 0) {
      // Files deleted in this layer: whiteouts sharing the one inode the kernel keeps in work/work.
      if (isRoot) {
        const whiteout = path.join(root, "overlay2", id, "work", "work", `#${layer.toString(16)}`);
        await mkdir(path.dirname(whiteout), { recursive: true });
        execFileSync("mknod", [whiteout, "c", "0", "0"]);
        await link(whiteout, path.join(diff, "deleted-file"));
        await link(whiteout, path.join(diff, "usr", "lib", "deleted-too.so"));
        setXattr(diff, "trusted.overlay.uuid", `${mark}-${layer}`.padEnd(16, "0"));
        setXattr(diff, "trusted.overlay.impure", "y");
        setXattr(path.join(diff, "usr"), "trusted.overlay.origin", `\u00fb\u0001${mark}:${layer}`);
      }
      // A directory replaced as a whole.
      const opaque = path.join(diff, "var", "cache");
      await mkdir(opaque, { recursive: true });
      await writeFile(path.join(opaque, "index"), `${mark}:${layer}\n`);
      if (isRoot) setXattr(opaque, "trusted.overlay.opaque", "y");
      else setXattr(opaque, "user.overlay.opaque", "y");
    }
    await chmod(path.join(diff, "usr"), 0o755);
    await utimes(path.join(root, "overlay2", id), new Date("2025-01-02T03:04:05Z"), new Date("2025-01-02T03:04:05Z"));
  }
  // A sparse database file in a volume, and an empty directory Docker expects to exist.
  const sparse = await open(path.join(root, "volumes", "registry", "_data", "db.sqlite"), "w");
  await sparse.write(`${mark}:db\n`, 0);
  await sparse.truncate(64 * 1024 * 1024);
  await sparse.close();
  await mkdir(path.join(root, "volumes", "empty", "_data"), { recursive: true });
  await writeFile(path.join(root, "image", "overlay2", "repositories.json"), JSON.stringify({ mark }));
}

async function writeBlob(file: string, bytes: number, mark: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, "w");
  const chunk = randomBytes(Math.min(bytes, 4 * 1024 * 1024));
  await handle.write(`${mark}\n`);
  for (let written = mark.length + 1; written < bytes; written += chunk.length) {
    await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
  }
  await handle.close();
}
