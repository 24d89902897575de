// The project's golden as the rest of the service sees it: what it is, a pinned view of it for
// copying, and its deletion. Promotion itself lives in promote.ts.
import { readdir, rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import { fsyncDir, removeTree } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import type { GenerationPins, ProjectLocks } from "./golden-locks.ts";
import { type GenerationMeta, readCurrentGeneration, readGenerationMeta } from "./promote.ts";

export type GoldenInfo = components["schemas"]["GoldenInfo"];

export interface PinnedGolden {
  meta: GenerationMeta;
  dockerDir: string;
  release: () => Promise<void>;
}

export class Goldens {
  constructor(
    private readonly layout: SandboxLayout,
    private readonly locks: ProjectLocks,
    private readonly pins: GenerationPins,
  ) {}

  async info(projectId: string): Promise<GoldenInfo> {
    const current = await readCurrentGeneration(this.layout, projectId);
    if (!current) return absent(projectId);
    const meta = await readGenerationMeta(this.layout, projectId, current);
    return {
      project_id: projectId,
      exists: true,
      size_bytes: meta.size_bytes,
      built_at: meta.built_at,
      build_id: meta.build_id,
    };
  }

  /**
   * The current generation, pinned so that neither a promotion nor a delete removes it until
   * `release()` is called. Null when the project has no golden.
   */
  async pinCurrent(projectId: string): Promise<PinnedGolden | null> {
    return this.locks.withLock(projectId, async () => {
      const current = await readCurrentGeneration(this.layout, projectId);
      if (!current) return null;
      const generationDir = this.layout.generationDir(projectId, current);
      const release = this.pins.pin(generationDir);
      try {
        const meta = await readGenerationMeta(this.layout, projectId, current);
        return { meta, dockerDir: path.join(generationDir, "docker"), release };
      } catch (error) {
        await release();
        throw error;
      }
    });
  }

  /**
   * Deletes the project's golden. Idempotent. The pointer goes first, in one step, so from then
   * on the project has no golden; generations still being copied are removed when the copy ends.
   * Returns whether there was a golden to delete.
   */
  async delete(projectId: string): Promise<boolean> {
    return this.locks.withLock(projectId, async () => {
      const goldenDir = this.layout.goldenDir(projectId);
      const existed = (await readCurrentGeneration(this.layout, projectId)) !== null;
      try {
        await unlink(this.layout.goldenPointer(projectId));
        await fsyncDir(goldenDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      await this.removeUnreferencedGenerations(projectId, null);
      await rmdir(this.layout.generationsDir(projectId)).catch(() => undefined);
      await rmdir(goldenDir).catch(() => undefined);
      return existed;
    });
  }

  /**
   * After a restart: every generation the pointer does not name is a leftover of an interrupted
   * promotion or delete, and goes.
   */
  async recover(): Promise<void> {
    const projects = await readdir(this.layout.goldensDir).catch(() => [] as string[]);
    for (const projectId of projects) {
      let goldenDir: string;
      try {
        goldenDir = this.layout.goldenDir(projectId);
      } catch {
        // Not a name we would ever create: leave it alone rather than delete what is not ours.
        continue;
      }
      await this.locks.withLock(projectId, async () => {
        const current = await readCurrentGeneration(this.layout, projectId);
        await this.removeUnreferencedGenerations(projectId, current);
        for (const entry of await readdir(goldenDir)) {
          if (entry.startsWith(".current.") && entry.endsWith(".tmp")) await removeTree(path.join(goldenDir, entry));
        }
        if (!current) {
          await rmdir(this.layout.generationsDir(projectId)).catch(() => undefined);
          await rmdir(goldenDir).catch(() => undefined);
        }
      });
    }
  }

  private async removeUnreferencedGenerations(projectId: string, keep: string | null): Promise<void> {
    const generations = this.layout.generationsDir(projectId);
    const entries = await readdir(generations).catch(() => [] as string[]);
    for (const entry of entries) {
      if (entry === keep) continue;
      const dir = path.join(generations, entry);
      await this.pins.removeWhenUnpinned(dir, () => removeTree(dir));
    }
  }
}

function absent(projectId: string): GoldenInfo {
  return { project_id: projectId, exists: false, size_bytes: 0, built_at: null, build_id: null };
}
