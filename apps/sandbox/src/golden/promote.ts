// Promotion: a finished build's Docker directory becomes the project's golden.
// Invariant: at every instant, including after kill -9 at any line below, the project's golden
// is either the complete previous generation or the complete new one. The new generation is
// moved into place under its own name first (a rename, so it is complete or absent); the switch
// is one atomic rename of the `current` symlink; the previous generation is removed only after
// the switch (by the caller, through `retirePrevious`, so a large removal does not hold up the
// build's success), and not before the last session copy reading it is done.
import { mkdir, readFile, readlink, rename } from "node:fs/promises";
import path from "node:path";
import type { CopyPlan } from "../fs/copy-tree.ts";
import { fsyncDir, removeTree, replaceSymlinkAtomic, writeFileAtomic } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import type { GenerationPins, KeyedLocks } from "./golden-locks.ts";

export interface GenerationMeta {
  build_id: string;
  built_at: string;
  size_bytes: number;
}

export interface PromoteDeps {
  layout: SandboxLayout;
  locks: KeyedLocks;
  pins: GenerationPins;
}

export interface Promotion {
  /** Removes the generation that was current before, once no copy reads it. */
  retirePrevious: () => Promise<void>;
}

export async function promote(
  { layout, locks, pins }: PromoteDeps,
  projectId: string,
  meta: GenerationMeta,
  plan?: CopyPlan,
): Promise<Promotion> {
  const staged = layout.buildGenerationDir(meta.build_id);
  if (plan) await writeFileAtomic(path.join(staged, "copy-plan.json"), JSON.stringify(plan));
  await writeFileAtomic(path.join(staged, "golden.json"), `${JSON.stringify(meta)}\n`);
  const previous = await locks.withLock(projectId, async () => {
    const generations = layout.generationsDir(projectId);
    await mkdir(generations, { recursive: true });
    const before = await readCurrentGeneration(layout, projectId);
    await rename(staged, layout.generationDir(projectId, meta.build_id));
    await fsyncDir(generations);
    await replaceSymlinkAtomic(layout.goldenPointer(projectId), path.join("generations", meta.build_id));
    return before;
  });
  return {
    retirePrevious: async () => {
      if (!previous || previous === meta.build_id) return;
      const old = layout.generationDir(projectId, previous);
      await pins.removeWhenUnpinned(old, () => removeTree(old));
    },
  };
}

/** The build ID of the generation the pointer names, or null when the project has no golden. */
export async function readCurrentGeneration(layout: SandboxLayout, projectId: string): Promise<string | null> {
  try {
    const target = await readlink(layout.goldenPointer(projectId));
    const buildId = path.basename(target);
    // The pointer is ours, but check it anyway: it becomes part of a path.
    layout.generationDir(projectId, buildId);
    return buildId;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** The copy plan made when the generation was promoted, or null (then a copy plans afresh). */
export async function readCopyPlan(
  layout: SandboxLayout,
  projectId: string,
  buildId: string,
): Promise<CopyPlan | null> {
  try {
    return JSON.parse(await readFile(path.join(layout.generationDir(projectId, buildId), "copy-plan.json"), "utf8"));
  } catch {
    return null;
  }
}

export async function readGenerationMeta(
  layout: SandboxLayout,
  projectId: string,
  buildId: string,
): Promise<GenerationMeta> {
  const text = await readFile(path.join(layout.generationDir(projectId, buildId), "golden.json"), "utf8");
  return JSON.parse(text) as GenerationMeta;
}
