// Promotion: a finished build's Docker directory becomes the project's golden.
// Invariant: at every instant, including after kill -9 at any line below, the project's golden
// is either the complete previous generation or the complete new one. The new generation is
// moved into place under its own name first (a rename, so it is complete or absent); the switch
// is one atomic rename of the `current` symlink; the previous generation is removed only after
// the switch (by the caller, through `retirePrevious`, so a large removal does not hold up the
// build's success), and not before the last session copy reading it is done.
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import type { CopyPlan } from "../fs/copy-plan.ts";
import { fsyncDir, removeTree, replaceSymlinkAtomic, writeFileAtomic } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import { type GenerationMeta, readCurrentGeneration } from "./generations.ts";
import type { GenerationPins, KeyedLocks } from "./golden-locks.ts";

export interface PromoteDeps {
  layout: SandboxLayout;
  locks: KeyedLocks;
  pins: GenerationPins;
}

interface Promotion {
  /** Removes the generation that was current before, once no copy reads it. */
  retirePrevious: () => Promise<void>;
}

interface PromoteOptions {
  plan?: CopyPlan;
  /** Where the generation was made; a build's generation directory unless said. */
  staged?: string;
  /** Checked under the project's lock, just before the switch: throwing promotes nothing. */
  guard?: (current: string | null) => Promise<void>;
}

export async function promote(
  { layout, locks, pins }: PromoteDeps,
  projectId: string,
  meta: GenerationMeta,
  { plan, staged = layout.buildGenerationDir(meta.build_id), guard }: PromoteOptions = {},
): Promise<Promotion> {
  if (plan) await writeFileAtomic(path.join(staged, "copy-plan.json"), JSON.stringify(plan));
  await writeFileAtomic(path.join(staged, "golden.json"), `${JSON.stringify(meta)}\n`);
  const previous = await locks.withLock(projectId, async () => {
    const generations = layout.generationsDir(projectId);
    await mkdir(generations, { recursive: true });
    const before = await readCurrentGeneration(layout, projectId);
    await guard?.(before);
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
