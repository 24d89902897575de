// The one interface to the BFF's data. Every change is a single SQL statement, so it is atomic
// on PGlite and on a PostgreSQL server alike, and concurrent callers (requests, the build
// monitor, another BFF process) cannot lose each other's updates.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import {
  type BuildOutcome,
  type BuildTrigger,
  type CacheStatus,
  sqlStatusList,
  statusAfter,
  transitions,
} from "../docker-cache/build-state-machine.ts";
import type { SqlClient } from "./sql-client.ts";

export type Project = components["schemas"]["Project"];
export type Build = components["schemas"]["Build"];

interface ProjectRow {
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
}

interface BuildRow {
  id: string;
  project_id: string;
  trigger: BuildTrigger;
  commit_sha: string | null;
  status: Build["status"];
  started_at: Date | string;
  finished_at: Date | string | null;
  error: string | null;
  size_bytes: string | number | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS projects (
  id text PRIMARY KEY,
  name text NOT NULL,
  repository_url text,
  default_branch text NOT NULL DEFAULT 'main',
  startup_script text NOT NULL DEFAULT '',
  auto_warm_docker_cache boolean NOT NULL DEFAULT false,
  main_commit text,
  cache_status text NOT NULL DEFAULT 'none' CHECK (cache_status IN ('none', 'building', 'ready', 'failed')),
  cache_size_bytes bigint NOT NULL DEFAULT 0,
  cache_last_build_at timestamptz,
  cache_last_ready_at timestamptz,
  cache_build_id text,
  cache_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Grows by one with every change, so a reader can tell a newer state from an older one.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS builds (
  id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  trigger text NOT NULL,
  commit_sha text,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'stopped', 'interrupted')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  error text,
  size_bytes bigint
);
-- The database itself refuses a second running build of a project.
CREATE UNIQUE INDEX IF NOT EXISTS builds_one_running_per_project ON builds (project_id) WHERE status = 'running';
`;

export interface NewProject {
  name: string;
  repository_url?: string | null;
  default_branch?: string;
  startup_script?: string;
}

export interface SettingsChange {
  startup_script?: string;
  auto_warm_docker_cache?: boolean;
}

export type SettingsResult =
  | { kind: "updated"; project: Project; turnedOn: boolean }
  | { kind: "not_found" }
  | { kind: "script_required" };

export interface GoldenTruth {
  exists: boolean;
  size_bytes: number;
  built_at: string | null;
}

export class ProjectStore {
  constructor(private readonly sql: SqlClient) {}

  async migrate(): Promise<void> {
    await this.sql.exec(schema);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  async createProject(input: NewProject, id = `prj_${randomUUID().replaceAll("-", "")}`): Promise<Project> {
    const rows = await this.sql.query<ProjectRow>(
      `INSERT INTO projects (id, name, repository_url, default_branch, startup_script)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [id, input.name, input.repository_url ?? null, input.default_branch ?? "main", input.startup_script ?? ""],
    );
    return toProject(first(rows));
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.sql.query<ProjectRow>("SELECT * FROM projects ORDER BY created_at, id");
    return rows.map(toProject);
  }

  async getProject(id: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>("SELECT * FROM projects WHERE id = $1", [id]);
    return rows[0] ? toProject(rows[0]) : null;
  }

  /**
   * Changes settings, and only settings. The setting cannot end up on with an empty script.
   * `turnedOn` is true for exactly one of any number of concurrent updates that turn it on.
   */
  async updateSettings(id: string, change: SettingsChange): Promise<SettingsResult> {
    const rows = await this.sql.query<ProjectRow & { was_on: boolean }>(
      `WITH old AS (SELECT id, auto_warm_docker_cache AS was_on FROM projects WHERE id = $1 FOR UPDATE)
       UPDATE projects p
          SET startup_script = COALESCE($2, p.startup_script),
              auto_warm_docker_cache = COALESCE($3, p.auto_warm_docker_cache),
              updated_at = now(), revision = p.revision + 1
         FROM old
        WHERE p.id = old.id
          AND NOT (COALESCE($3, p.auto_warm_docker_cache) AND btrim(COALESCE($2, p.startup_script)) = '')
       RETURNING p.*, old.was_on`,
      [id, change.startup_script ?? null, change.auto_warm_docker_cache ?? null],
    );
    const row = rows[0];
    if (row) {
      return { kind: "updated", project: toProject(row), turnedOn: !row.was_on && row.auto_warm_docker_cache };
    }
    return (await this.getProject(id)) ? { kind: "script_required" } : { kind: "not_found" };
  }

  /** Records the newest commit of the default branch. */
  async recordMainCommit(id: string, commitSha: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      "UPDATE projects SET main_commit = $2, updated_at = now(), revision = revision + 1 WHERE id = $1 RETURNING *",
      [id, commitSha],
    );
    return rows[0] ? toProject(rows[0]) : null;
  }

  /**
   * The `start` transition: claims the project for a new build, or returns null when the
   * project is already building (or does not exist, or has no startup script).
   */
  async claimBuild(
    projectId: string,
    trigger: BuildTrigger,
    commitSha: string | null,
  ): Promise<{ project: Project; build: Build } | null> {
    const buildId = `bld_${randomUUID().replaceAll("-", "")}`;
    const startedAt = new Date().toISOString();
    const rows = await this.sql.query<ProjectRow & { b_trigger: BuildTrigger; b_commit: string | null }>(
      `WITH claimed AS (
         UPDATE projects
            SET cache_status = 'building', cache_build_id = $2, cache_last_build_at = $3,
                cache_error = NULL, updated_at = now(), revision = revision + 1
          WHERE id = $1
            AND cache_status IN (${sqlStatusList(transitions.start.from)})
            AND btrim(startup_script) <> ''
         RETURNING *
       ), inserted AS (
         INSERT INTO builds (id, project_id, trigger, commit_sha, status, started_at)
         SELECT $2, id, $4, COALESCE($5, main_commit), 'running', $3 FROM claimed
         RETURNING trigger AS b_trigger, commit_sha AS b_commit
       )
       SELECT claimed.*, inserted.b_trigger, inserted.b_commit FROM claimed, inserted`,
      [projectId, buildId, startedAt, trigger, commitSha],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      project: toProject(row),
      build: {
        id: buildId,
        project_id: projectId,
        trigger: row.b_trigger,
        commit_sha: row.b_commit,
        status: "running",
        started_at: startedAt,
        finished_at: null,
        error: null,
        size_bytes: null,
      },
    };
  }

  /**
   * The `settle` transition: records a build's outcome and moves the project out of `building`.
   * Settling a build twice, or a build that is not the project's current one, changes nothing
   * and returns null.
   */
  async settleBuild(
    buildId: string,
    outcome: { status: BuildOutcome; finished_at: string; error: string | null; size_bytes: number | null },
    golden: GoldenTruth,
  ): Promise<Project | null> {
    const nextStatus = statusAfter(outcome.status, golden.exists);
    const succeeded = outcome.status === "succeeded";
    const stopped = outcome.status === "stopped";
    const rows = await this.sql.query<ProjectRow>(
      `WITH settled AS (
         UPDATE builds SET status = $2, finished_at = $3, error = $4, size_bytes = $5
          WHERE id = $1 AND status = 'running'
         RETURNING project_id
       )
       UPDATE projects p
          SET cache_status = $6,
              cache_error = CASE WHEN $6 = 'failed' THEN $4 ELSE NULL END,
              cache_size_bytes = CASE WHEN $7 THEN $5 WHEN $8 THEN $9 ELSE p.cache_size_bytes END,
              cache_last_ready_at = CASE WHEN $7 THEN $3::timestamptz WHEN $8 THEN $10::timestamptz
                                         ELSE p.cache_last_ready_at END,
              updated_at = now(), revision = p.revision + 1
         FROM settled
        WHERE p.id = settled.project_id AND p.cache_build_id = $1
          AND p.cache_status IN (${sqlStatusList(transitions.settle.from)})
       RETURNING p.*`,
      [
        buildId,
        outcome.status,
        outcome.finished_at,
        outcome.error,
        outcome.size_bytes,
        nextStatus,
        succeeded,
        stopped,
        golden.exists ? golden.size_bytes : 0,
        golden.exists ? golden.built_at : null,
      ],
    );
    return rows[0] ? toProject(rows[0]) : null;
  }

  /** The `deleteCache` transition; null when the project is building or does not exist. */
  async clearCache(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects
          SET cache_status = 'none', cache_size_bytes = 0, cache_last_ready_at = NULL, cache_error = NULL,
              updated_at = now(), revision = revision + 1
        WHERE id = $1 AND cache_status IN (${sqlStatusList(transitions.deleteCache.from)})
       RETURNING *`,
      [projectId],
    );
    return rows[0] ? toProject(rows[0]) : null;
  }

  async getBuild(projectId: string, buildId: string): Promise<Build | null> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE id = $1 AND project_id = $2", [
      buildId,
      projectId,
    ]);
    return rows[0] ? toBuild(rows[0]) : null;
  }

  /** Builds the store believes are running, for the monitor to check against the sandbox. */
  async runningBuilds(): Promise<Build[]> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE status = 'running' ORDER BY started_at");
    return rows.map(toBuild);
  }
}

function first<T>(rows: T[]): T {
  const row = rows[0];
  if (!row) throw new Error("expected a row");
  return row;
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toProject(row: ProjectRow): Project {
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
      docker_cache_state: {
        status: row.cache_status,
        size_bytes: Number(row.cache_size_bytes),
        last_build_at: iso(row.cache_last_build_at),
        last_ready_at: iso(row.cache_last_ready_at),
        build_session_id: row.cache_build_id,
        error: row.cache_error,
      },
    },
  };
}

function toBuild(row: BuildRow): Build {
  return {
    id: row.id,
    project_id: row.project_id,
    trigger: row.trigger,
    commit_sha: row.commit_sha,
    status: row.status,
    started_at: iso(row.started_at) as string,
    finished_at: iso(row.finished_at),
    error: row.error,
    size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
  };
}
