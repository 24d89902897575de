// The project's golden as the rest of the service sees it: what it is, a pinned view of it for
// copying, and its deletion. Promotion itself lives in promote.ts.
import { readdir, rmdir, stat, unlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import type { CopyPlan } from "../fs/copy-plan.ts";
import { fsyncDir, removeTree } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import { type GenerationMeta, readCopyPlan, readCurrentGeneration, readGenerationMeta } from "./generations.ts";
import type { GenerationPins, KeyedLocks } from "./golden-locks.ts";

type GoldenInfo = components["schemas"]["GoldenInfo"];
type DockerEngineUsed = components["schemas"]["DockerEngineUsed"];

/** Why this host's Docker daemons cannot open a generation's Docker directory; null when they can. */
export type EngineCheck = (made: DockerEngineUsed | null, dockerDir: string) => Promise<string | null>;

/** The current generation pinned for copying, or why there is none to copy. */
export type Pinning =
  | { golden: PinnedGolden; unusable: null }
  | {
      golden: null;
      /** Set when there is a golden but this host's daemons cannot open it; null when there is none. */
      unusable: string | null;
    };

interface PinnedGolden {
  meta: GenerationMeta;
  dockerDir: string;
  /** How to copy it, planned at promotion; null for a generation without one. */
  plan: CopyPlan | null;
  release: () => Promise<void>;
}

export class Goldens {
  private readonly layout: SandboxLayout;
  private readonly locks: KeyedLocks;
  private readonly pins: GenerationPins;
  private readonly engineCheck: EngineCheck;

  constructor(
    layout: SandboxLayout,
    locks: KeyedLocks,
    pins: GenerationPins,
    engineCheck: EngineCheck = async () => null,
  ) {
    this.layout = layout;
    this.locks = locks;
    this.pins = pins;
    this.engineCheck = engineCheck;
  }

  async info(projectId: string): Promise<GoldenInfo> {
    const current = await readCurrentGeneration(this.layout, projectId);
    if (!current) return absent(projectId);
    const meta = await readGenerationMeta(this.layout, projectId, current);
    const dockerDir = path.join(this.layout.generationDir(projectId, current), "docker");
    return {
      project_id: projectId,
      exists: true,
      size_bytes: meta.size_bytes,
      built_at: meta.built_at,
      build_id: meta.build_id,
      last_used_at: await this.lastUsed(projectId),
      docker_engine: meta.docker_engine ?? null,
      unusable: await this.engineCheck(meta.docker_engine ?? null, dockerDir),
    };
  }

  /** Every project that has a golden, least recently used first. */
  async list(): Promise<GoldenInfo[]> {
    const goldens: GoldenInfo[] = [];
    for (const projectId of await readdir(this.layout.goldensDir).catch(() => [] as string[])) {
      let golden: GoldenInfo;
      try {
        golden = await this.info(projectId);
      } catch {
        continue; // not a project directory of ours, or deleted meanwhile
      }
      if (golden.exists) goldens.push(golden);
    }
    return goldens.sort((a, b) => recency(a).localeCompare(recency(b)));
  }

  /** Records that a session started from the project's golden, for least-recently-used eviction. */
  async markUsed(projectId: string): Promise<void> {
    const marker = this.layout.goldenUsageMarker(projectId);
    const now = new Date();
    try {
      await utimes(marker, now, now);
    } catch {
      await writeFile(marker, "").catch(() => undefined);
    }
  }

  /**
   * Deletes the project's golden unless a copy is reading it (a session's, or a build's starting
   * copy): an eviction must never take a golden from under a copy. Returns whether it deleted.
   */
  async evict(projectId: string): Promise<boolean> {
    const inUse = await this.locks.withLock(projectId, async () => {
      const current = await readCurrentGeneration(this.layout, projectId);
      return current !== null && this.pins.isPinned(this.layout.generationDir(projectId, current));
    });
    // A copy that starts between the check and the delete still finishes: removal waits for it.
    return inUse ? false : this.delete(projectId);
  }

  private async lastUsed(projectId: string): Promise<string | null> {
    try {
      return (await stat(this.layout.goldenUsageMarker(projectId))).mtime.toISOString();
    } catch {
      return null;
    }
  }

  /**
   * The current generation, pinned so that neither a promotion nor a delete removes it until
   * `release()` is called. None when the project has no golden, or this host's daemons cannot
   * open it (then `unusable` says why: it is never handed on).
   */
  async pinCurrent(projectId: string): Promise<Pinning> {
    const pinned = await this.locks.withLock(projectId, async () => {
      const current = await readCurrentGeneration(this.layout, projectId);
      if (!current) return null;
      const generationDir = this.layout.generationDir(projectId, current);
      return { current, generationDir, release: this.pins.pin(generationDir) };
    });
    if (!pinned) return { golden: null, unusable: null };
    // Pinned, the generation stays whole: its files are read outside the lock, and a failure
    // lets go of it outside the lock too (a removal it deferred takes the lock).
    try {
      const meta = await readGenerationMeta(this.layout, projectId, pinned.current);
      const dockerDir = path.join(pinned.generationDir, "docker");
      const unusable = await this.engineCheck(meta.docker_engine ?? null, dockerDir);
      if (unusable !== null) {
        await pinned.release();
        return { golden: null, unusable };
      }
      const plan = await readCopyPlan(this.layout, projectId, pinned.current);
      return { golden: { meta, dockerDir, plan, release: pinned.release }, unusable: null };
    } catch (error) {
      await pinned.release();
      throw error;
    }
  }

  /**
   * The named generation pinned as pinCurrent pins it, if it is the project's golden here; null
   * when it is not (never was, or was replaced or deleted since).
   */
  async pinGeneration(
    projectId: string,
    buildId: string,
  ): Promise<{ meta: GenerationMeta; generationDir: string; release: () => Promise<void> } | null> {
    const generationDir = this.layout.generationDir(projectId, buildId);
    const release = await this.locks.withLock(projectId, async () => {
      if ((await readCurrentGeneration(this.layout, projectId)) !== buildId) return null;
      return this.pins.pin(generationDir);
    });
    if (!release) return null;
    try {
      return { meta: await readGenerationMeta(this.layout, projectId, buildId), generationDir, release };
    } catch (error) {
      await release();
      throw error;
    }
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
      await removeTree(this.layout.sparesDir(projectId));
      await unlink(this.layout.goldenUsageMarker(projectId)).catch(() => undefined);
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
          await removeTree(this.layout.sparesDir(projectId));
          await unlink(this.layout.goldenUsageMarker(projectId)).catch(() => undefined);
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
      if (!this.pins.isPinned(dir)) {
        await removeTree(dir);
        continue;
      }
      // Removed when its last reader lets go (outside any lock), possibly after the golden was
      // deleted: then no empty project directory is left behind either.
      await this.pins.removeWhenUnpinned(dir, async () => {
        await removeTree(dir);
        await this.removeIfEmpty(projectId);
      });
    }
  }

  /** Removes the project's directory when it holds no golden and nothing else. */
  private async removeIfEmpty(projectId: string): Promise<void> {
    await this.locks.withLock(projectId, async () => {
      if ((await readCurrentGeneration(this.layout, projectId)) !== null) return;
      await rmdir(this.layout.sparesDir(projectId)).catch(() => undefined);
      await rmdir(this.layout.generationsDir(projectId)).catch(() => undefined);
      await rmdir(this.layout.goldenDir(projectId)).catch(() => undefined);
    });
  }
}

function absent(projectId: string): GoldenInfo {
  return {
    project_id: projectId,
    exists: false,
    size_bytes: 0,
    built_at: null,
    build_id: null,
    last_used_at: null,
    docker_engine: null,
    unusable: null,
  };
}

/** A golden no session has used yet counts as used when it was built. */
function recency(golden: GoldenInfo): string {
  return golden.last_used_at ?? golden.built_at ?? "";
}
