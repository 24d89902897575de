// The rows of the BFF's tables and how they become what the API shows. Every statement that
// changes a project returns its row with `notify` (below), so the change is announced by the
// same statement that makes it.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import type { BuildTrigger, CacheStatus } from "../docker-cache/build-state-machine.ts";
import { dockerEngineUsed } from "../sandbox/docker-engine.ts";

export type Project = components["schemas"]["Project"];
export type Build = components["schemas"]["Build"];
export type ScriptVersion = components["schemas"]["ScriptVersion"];

/** The channel every project change is announced on, as `<project id>:<revision>`. */
export const projectChannel = "prewarm_project";
export const notify = `pg_notify('${projectChannel}', p.id || ':' || p.revision) AS notified`;

/** Settings of the store that rows are read with. */
export interface StoreDefaults {
  buildTimeoutSeconds: number;
}

/** A row of `projects`, as the drivers read it, or read as `to_jsonb(p)` (timestamps then strings, counts numbers). */
export interface ProjectRow {
  id: string;
  name: string;
  repository_url: string | null;
  default_branch: string;
  startup_script: string;
  auto_warm_docker_cache: boolean;
  main_commit: string | null;
  cache_status: CacheStatus;
  cache_size_bytes: string | number;
  cache_last_build_at: Date | string | null;
  cache_last_ready_at: Date | string | null;
  cache_build_id: string | null;
  cache_error: string | null;
  revision: string | number;
  build_timeout_seconds: number | null;
  pause_after_failures: number;
  webhook_secret: string | null;
  queued_trigger: BuildTrigger | null;
  queued_commit: string | null;
  queued_at: Date | string | null;
  main_merges: string | number;
  golden_commit: string | null;
  golden_merges: string | number | null;
  consecutive_failures: number;
  paused_at: Date | string | null;
  evicted_at: Date | string | null;
}

export interface BuildRow {
  id: string;
  project_id: string;
  trigger: BuildTrigger;
  commit_sha: string | null;
  status: Build["status"];
  started_at: Date | string;
  finished_at: Date | string | null;
  error: string | null;
  size_bytes: string | number | null;
  dispatched_at: Date | string | null;
  timeout_seconds: number;
  docker_version: string | null;
  docker_storage_driver: string | null;
  /** Null for a build recorded before daemons were rootless. */
  docker_rootless: boolean | null;
  /** The sandbox host it was placed on; null until placed. */
  host_id: string | null;
}

/** A build as the orchestration sees it: what the API shows, where it runs, and whether that host has it. */
export interface StoredBuild extends Build {
  dispatched: boolean;
  timeout_seconds: number;
  host_id: string | null;
}

export function toProject(row: ProjectRow, defaults: StoreDefaults): Project {
  const mainMerges = Number(row.main_merges);
  const goldenMerges = row.golden_merges === null ? null : Number(row.golden_merges);
  return {
    id: row.id,
    name: row.name,
    repository_url: row.repository_url,
    default_branch: row.default_branch,
    startup_script: row.startup_script,
    main_commit: row.main_commit,
    revision: Number(row.revision),
    metadata: {
      auto_warm_docker_cache: row.auto_warm_docker_cache,
      docker_cache_build_timeout_seconds: row.build_timeout_seconds ?? defaults.buildTimeoutSeconds,
      docker_cache_pause_after_failures: row.pause_after_failures,
      webhook_configured: row.webhook_secret !== null,
      docker_cache_state: {
        status: row.cache_status,
        size_bytes: Number(row.cache_size_bytes),
        last_build_at: iso(row.cache_last_build_at),
        last_ready_at: iso(row.cache_last_ready_at),
        build_id: row.cache_build_id,
        error: row.cache_error,
        queued: row.queued_trigger
          ? { trigger: row.queued_trigger, commit_sha: row.queued_commit, queued_at: iso(row.queued_at) as string }
          : null,
        golden_commit: row.golden_commit,
        merges_behind: goldenMerges === null ? 0 : Math.max(0, mainMerges - goldenMerges),
        consecutive_failures: row.consecutive_failures,
        paused: row.paused_at !== null,
        evicted_at: iso(row.evicted_at),
      },
    },
  };
}

export function newBuildId(): string {
  return `bld_${randomUUID().replaceAll("-", "")}`;
}

export function first<T>(rows: T[]): T {
  const row = rows[0];
  if (!row) throw new Error("expected a row");
  return row;
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toBuild(row: BuildRow): Build {
  const startedAt = iso(row.started_at) as string;
  const finishedAt = iso(row.finished_at);
  return {
    id: row.id,
    project_id: row.project_id,
    trigger: row.trigger,
    commit_sha: row.commit_sha,
    status: row.status,
    started_at: startedAt,
    finished_at: finishedAt,
    duration_seconds: finishedAt ? Math.max(0, (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000) : null,
    error: row.error,
    size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
    docker_engine:
      row.docker_version === null
        ? null
        : dockerEngineUsed({
            version: row.docker_version,
            storage_driver: row.docker_storage_driver ?? "unknown",
            rootless: row.docker_rootless,
          }),
  };
}

export function toStoredBuild(row: BuildRow): StoredBuild {
  return {
    ...toBuild(row),
    dispatched: row.dispatched_at !== null,
    timeout_seconds: row.timeout_seconds,
    host_id: row.host_id,
  };
}
