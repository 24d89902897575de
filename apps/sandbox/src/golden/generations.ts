// Reading a project's generations: which one the golden pointer names, what it is, and how to
// copy it. Only reads: promote.ts is what writes them. A generation is complete once it is under
// generations/ (promotion renames it in whole), so whatever these read is of one whole generation.
import { readFile, readlink } from "node:fs/promises";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import type { CopyPlan } from "../fs/copy-plan.ts";
import type { SandboxLayout } from "../layout.ts";

/** golden.json, beside the generation's Docker directory. */
export interface GenerationMeta {
  build_id: string;
  built_at: string;
  size_bytes: number;
  /** The daemon that made it and opened it before promotion; absent in generations made before it was recorded. */
  docker_engine?: components["schemas"]["DockerEngineUsed"] | null;
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

export async function readGenerationMeta(
  layout: SandboxLayout,
  projectId: string,
  buildId: string,
): Promise<GenerationMeta> {
  const text = await readFile(path.join(layout.generationDir(projectId, buildId), "golden.json"), "utf8");
  return JSON.parse(text) as GenerationMeta;
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
