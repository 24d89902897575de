// The Docker cache state machine of a project.
// Invariants:
// - `docker_cache_state` changes only through the transitions below, each applied by the store as
//   one atomic SQL statement guarded by its `from` states; a settings update never touches it.
// - `building` means exactly one build of the project is running; its ID is `build_session_id`.
//   A start is only possible from a state that is not `building`, so two triggers racing each
//   other start one build, never two.
// - `size_bytes` and `last_ready_at` always describe the golden sessions start from: a failed
//   or stopped build leaves them as they were; only a success or a delete changes them.
//
//        start                 succeeded
//   none ─────► building ───────────────────► ready
//   ready ────►    │   failed / interrupted
//   failed ───►    ├──────────────────────────► failed
//                  │   stopped
//                  └──────────────────────────► ready (a golden exists) | none (it does not)
//   ready, failed, none ──── delete cache ────► none
import type { components } from "@prewarm/api-types/bff";

export type CacheStatus = components["schemas"]["DockerCacheStatus"];
export type BuildOutcome = "succeeded" | "failed" | "stopped" | "interrupted";
export type BuildTrigger = components["schemas"]["BuildTrigger"];

export interface Transition {
  from: readonly CacheStatus[];
  to: readonly CacheStatus[];
}

export const transitions = {
  start: { from: ["none", "ready", "failed"], to: ["building"] },
  settle: { from: ["building"], to: ["ready", "failed", "none"] },
  deleteCache: { from: ["none", "ready", "failed"], to: ["none"] },
} as const satisfies Record<string, Transition>;

/** The status a settled build leaves the project in. */
export function statusAfter(outcome: BuildOutcome, goldenExists: boolean): CacheStatus {
  switch (outcome) {
    case "succeeded":
      return "ready";
    case "failed":
    case "interrupted":
      return "failed";
    case "stopped":
      return goldenExists ? "ready" : "none";
  }
}

/** A SQL list literal of statuses, for the guards of the store's statements. */
export function sqlStatusList(statuses: readonly CacheStatus[]): string {
  return statuses.map((s) => `'${s}'`).join(", ");
}
