// The Docker daemon a run had, as the BFF answers it. Runs recorded before daemons were rootless
// (in the BFF's database, or by a sandbox of an earlier release) do not say whether theirs was:
// it ran as root, so they are answered `rootless: false`, as the contracts state.
import type { components } from "@prewarm/api-types/bff";

export type DockerEngineUsed = components["schemas"]["DockerEngineUsed"];

/** An engine as recorded, `rootless` possibly missing. */
type RecordedEngine = Omit<DockerEngineUsed, "rootless"> & { rootless?: boolean | null };

export function dockerEngineUsed(engine: RecordedEngine | null): DockerEngineUsed | null {
  if (engine === null) return null;
  return { version: engine.version, storage_driver: engine.storage_driver, rootless: engine.rootless ?? false };
}
