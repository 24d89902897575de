// The Docker cache state machine of a project.
// Invariants:
// - `docker_cache_state` changes only through the transitions below, each applied by the store
//   (store/cache-transitions.ts) as one atomic SQL statement guarded by the states it may start
//   from; a settings update never touches it.
// - `building` means exactly one build of the project is running; its ID is `build_id`.
//   A trigger while building never starts a second build: it queues one follow-up, replacing
//   any queued before (the latest commit wins). Of any number of racing triggers, exactly one
//   starts a build and the others queue, whichever BFF process they reach.
// - `size_bytes`, `last_ready_at` and `golden_commit` always describe the golden sessions start
//   from: a failed or stopped build leaves them as they were; a success, a delete or an eviction
//   changes them.
//
//        start                     succeeded
//   none ─────► building ───────────────────────────► ready
//   ready ────►    │  ▲   failed / interrupted
//   failed ───►    │  │ ───────────────────────────► failed   (paused after N in a row)
//                  │  │   stopped
//                  │  │ ───────────────────────────► ready (a golden exists) | none (it does not)
//                  │  └── settled with a follow-up queued: the follow-up starts at once
//                  └── trigger while building: queue (latest wins)
//   ready, failed, none ──── delete cache ──────────► none
//
// When a build settles, its queued follow-up starts unless the build was stopped (a stop is the
// owner saying "no more builds now") or the follow-up is a merge that may no longer run (the
// setting was turned off, or merge builds just paused after too many failures).
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
  queue: { from: ["building"], to: ["building"] },
  settle: { from: ["building"], to: ["ready", "failed", "none", "building"] },
  deleteCache: { from: ["none", "ready", "failed"], to: ["none"] },
} as const satisfies Record<string, Transition>;

/** The status a settled build leaves the project in, when no follow-up starts. */
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

/** Whether a trigger may start or queue a build while merge builds are paused. */
export function runsWhilePaused(trigger: BuildTrigger): boolean {
  return trigger !== "merge";
}

/** Whether a trigger resumes merge builds paused after failures. */
export function resumes(trigger: BuildTrigger): boolean {
  return trigger === "retry";
}

/** A SQL list literal of statuses, for the guards of the store's statements. */
export function sqlStatusList(statuses: readonly CacheStatus[]): string {
  return statuses.map((s) => `'${s}'`).join(", ");
}
