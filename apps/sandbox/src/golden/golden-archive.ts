// A generation of a project's golden as another host fetches it: its manifest (every path's
// metadata and content hash, what the copy is checked against) and its Docker directory as a tar
// stream. Invariant: both describe one whole generation, the one named: it is pinned while it is
// read, so neither a promotion nor a delete removes it under the reader, and a generation that
// is no longer the golden here is not offered at all.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import { tarFlags } from "../fs/copy-tree.ts";
import { ownerNumbering, startOnDaemonFiles, startTool } from "../fs/daemon-files.ts";
import { writeFileAtomic } from "../fs/durable.ts";
import { treeManifest } from "../fs/tree-manifest.ts";
import type { Goldens } from "./goldens.ts";

type GoldenManifest = components["schemas"]["GoldenManifest"];
export type Compression = components["schemas"]["Compression"];

/** GNU tar's flags for a copy as faithful as `cp -a`, on both ends of a transfer. */
export const archiveFlags = [...tarFlags, "--numeric-owner", "--sparse"];

export class GoldenArchives {
  private readonly goldens: Goldens;
  /** Manifests being made, by generation directory: two readers wait for one walk. */
  private readonly making = new Map<string, Promise<GoldenManifest>>();

  constructor(goldens: Goldens) {
    this.goldens = goldens;
  }

  /** The generation's manifest: made on the first request and kept beside it (it never changes). */
  async manifest(projectId: string, buildId: string): Promise<GoldenManifest> {
    const pinned = await this.pin(projectId, buildId);
    try {
      const file = path.join(pinned.generationDir, "manifest.json");
      const kept = await readFile(file, "utf8").then(
        (text) => JSON.parse(text) as GoldenManifest,
        () => null,
      );
      if (kept) return kept;
      let making = this.making.get(pinned.generationDir);
      if (!making) {
        making = (async () => {
          const tree = await treeManifest(path.join(pinned.generationDir, "docker"));
          const manifest: GoldenManifest = {
            project_id: projectId,
            build_id: buildId,
            built_at: pinned.meta.built_at,
            size_bytes: pinned.meta.size_bytes,
            docker_engine: pinned.meta.docker_engine ?? null,
            owners: await ownerNumbering(),
            file_bytes: tree.fileBytes,
            entries: tree.entries,
          };
          await writeFileAtomic(file, JSON.stringify(manifest));
          return manifest;
        })().finally(() => this.making.delete(pinned.generationDir));
        this.making.set(pinned.generationDir, making);
      }
      return await making;
    } finally {
      await pinned.release();
    }
  }

  /**
   * The generation's Docker directory as a POSIX tar stream (zstd-compressed if asked), read as
   * it is sent. A tool that fails mid-way destroys the stream, so the reader never mistakes a
   * cut archive for a whole one.
   */
  async archive(projectId: string, buildId: string, compression: Compression): Promise<Readable> {
    const pinned = await this.pin(projectId, buildId);
    try {
      const dockerDir = path.join(pinned.generationDir, "docker");
      const tar = await startOnDaemonFiles(["tar", ...archiveFlags, "-cf", "-", "."], { cwd: dockerDir });
      const zstd = compression === "zstd" ? startTool(["zstd", "-1", "-T0", "-q", "-c"], { stdin: tar.stdout }) : null;
      // The stream ends only once every tool has exited 0: a tool that fails after writing its
      // last bytes still cuts the stream, rather than end it as if the archive were whole.
      const out = new PassThrough();
      (zstd?.stdout ?? tar.stdout).pipe(out, { end: false });
      void Promise.all([tar.done, zstd?.done]).then(
        async () => {
          out.end();
          await pinned.release();
        },
        async (error: Error) => {
          out.destroy(error);
          await pinned.release();
        },
      );
      // A reader that goes away stops the tools (they end on a broken pipe).
      out.on("close", () => {
        tar.stdout.destroy();
        zstd?.stdout.destroy();
      });
      return out;
    } catch (error) {
      await pinned.release();
      throw error;
    }
  }

  private async pin(projectId: string, buildId: string) {
    const pinned = await this.goldens.pinGeneration(projectId, buildId);
    if (!pinned) {
      throw new ProblemError(404, "not_found", `Generation ${buildId} is not the golden of project ${projectId} here`);
    }
    return pinned;
  }
}
