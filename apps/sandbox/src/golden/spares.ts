// Spare copies: on a filesystem with reflink, a copy of a golden costs only metadata, so a few
// complete copies of the current generation are kept ready and a session (or an incremental
// build) starts by taking one: a rename instead of a copy. Spares are refilled in the background.
// Invariants: a spare appears under `spares/` only complete (made in tmp/, renamed in), and is
// named after the generation it copies; a spare is only ever handed out for its own generation,
// so whoever takes it gets exactly one complete generation; spares of a generation that is no
// longer current are removed. Without reflink, spares would cost a full copy each: none are made.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { copyTree } from "../fs/copy-tree.ts";
import { removeTree } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import type { Logger } from "../logger.ts";
import { measuredCopy } from "../metrics.ts";
import { readCurrentGeneration } from "./generations.ts";
import type { KeyedLocks } from "./golden-locks.ts";
import type { Goldens } from "./goldens.ts";

export class Spares {
  private readonly deps: { layout: SandboxLayout; locks: KeyedLocks; goldens: Goldens; logger: Logger };
  /** Spares kept per project; 0 turns them off. */
  readonly perProject: number;
  private readonly refilling = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    deps: { layout: SandboxLayout; locks: KeyedLocks; goldens: Goldens; logger: Logger },
    perProject: number,
  ) {
    this.deps = deps;
    this.perProject = perProject;
  }

  /**
   * Moves a spare of `generation` to `destination` (which must not exist) and returns true, or
   * returns false when none is ready. Starts a refill either way.
   */
  async take(projectId: string, generation: string, destination: string): Promise<boolean> {
    if (this.perProject === 0) return false;
    const dir = this.deps.layout.sparesDir(projectId);
    try {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (spareGeneration(name) !== generation) continue;
        try {
          // Atomic: of two takers racing for one spare, one gets it and the other moves on.
          await rename(path.join(dir, name, "docker"), destination);
          await removeTree(path.join(dir, name));
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      return false;
    } finally {
      this.refill(projectId);
    }
  }

  /** Brings the project's spares up to the set number, in the background, one refill at a time. */
  refill(projectId: string): void {
    if (this.perProject === 0 || this.stopped || this.refilling.has(projectId)) return;
    const work = this.fill(projectId)
      .catch((error) => this.deps.logger.warn({ projectId, error: String(error) }, "could not make a spare copy"))
      .finally(() => this.refilling.delete(projectId));
    this.refilling.set(projectId, work);
  }

  /** Resolves when no refill is running; for shutdown and tests. */
  async settled(): Promise<void> {
    while (this.refilling.size > 0) await Promise.all([...this.refilling.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
  }

  /**
   * Removes every spare that is not a complete copy of the project's current generation (all of
   * them, if it has none): spares of older generations, and one emptied by a take cut short.
   */
  async prune(projectId: string): Promise<void> {
    const current = await readCurrentGeneration(this.deps.layout, projectId).catch(() => null);
    const dir = this.deps.layout.sparesDir(projectId);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const complete = (await readdir(path.join(dir, name)).catch(() => [] as string[])).includes("docker");
      if (current === null || spareGeneration(name) !== current || !complete) await removeTree(path.join(dir, name));
    }
  }

  /** After a restart: prune every project's spares, then refill them in the background. */
  async recover(): Promise<void> {
    for (const projectId of await readdir(this.deps.layout.goldensDir).catch(() => [] as string[])) {
      try {
        this.deps.layout.goldenDir(projectId);
      } catch {
        continue; // not a project directory of ours
      }
      await this.prune(projectId);
      this.refill(projectId);
    }
  }

  private async fill(projectId: string): Promise<void> {
    const { layout, locks, goldens } = this.deps;
    for (;;) {
      if (this.stopped) return;
      await this.prune(projectId);
      // No spares of a golden this host's daemons cannot open: it is never handed on.
      const { golden: pinned } = await goldens.pinCurrent(projectId);
      if (!pinned) return;
      const generation = pinned.meta.build_id;
      try {
        const ready = (await readdir(layout.sparesDir(projectId)).catch(() => [] as string[])).filter(
          (name) => spareGeneration(name) === generation,
        );
        // prune() above removed every incomplete spare, so each of these is whole.
        if (ready.length >= this.perProject) return;
        const staging = layout.tmpPath(`spare-${projectId}`);
        await mkdir(staging, { recursive: true });
        try {
          await measuredCopy("spare", () =>
            copyTree(pinned.dockerDir, path.join(staging, "docker"), { plan: pinned.plan ?? undefined }),
          );
          const placed = await locks.withLock(projectId, async () => {
            // Only a spare of the generation that is still current goes in.
            if ((await readCurrentGeneration(layout, projectId)) !== generation) return false;
            await mkdir(layout.sparesDir(projectId), { recursive: true });
            await rename(staging, path.join(layout.sparesDir(projectId), `${generation}.${randomUUID()}`));
            return true;
          });
          if (!placed) await removeTree(staging);
        } catch (error) {
          await removeTree(staging);
          throw error;
        }
      } finally {
        await pinned.release();
      }
    }
  }
}

function spareGeneration(name: string): string {
  return name.slice(0, name.lastIndexOf("."));
}
