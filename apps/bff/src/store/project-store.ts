// The one interface to the BFF's data. Every change is a single SQL statement, so it is atomic
// on PGlite and on a PostgreSQL server alike, and concurrent callers (requests, the build
// monitor, other BFF processes) cannot lose each other's updates. Every statement that changes
// a project also notifies `prewarm_project` with its ID and revision, in the same statement, so
// no change goes untold to the open event streams of any BFF process.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import {
  type BuildOutcome,
  type BuildTrigger,
  type CacheStatus,
  resumes,
  runsWhilePaused,
  sqlStatusList,
  statusAfter,
  transitions,
} from "../docker-cache/build-state-machine.ts";
import { schema, schemaLockKey } from "./schema.ts";
import type { SqlClient } from "./sql-client.ts";

export type Project = components["schemas"]["Project"];
export type Build = components["schemas"]["Build"];
export type ScriptVersion = components["schemas"]["ScriptVersion"];

/** The channel every project change is announced on, as `<project id>:<revision>`. */
export const projectChannel = "prewarm_project";
const notify = `pg_notify('${projectChannel}', p.id || ':' || p.revision) AS notified`;

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
  dispatched_at: Date | string | null;
  timeout_seconds: number;
}

/** A build as the orchestration sees it: what the API shows, and whether the sandbox has it. */
export interface StoredBuild extends Build {
  dispatched: boolean;
  timeout_seconds: number;
}

export interface NewProject {
  name: string;
  /** The user who may change it; every project created through the API has one. */
  owner_id?: string | null;
  repository_url?: string | null;
  default_branch?: string;
  startup_script?: string;
}

export interface SettingsChange {
  startup_script?: string;
  auto_warm_docker_cache?: boolean;
  build_timeout_seconds?: number;
  pause_after_failures?: number;
}

export type SettingsResult =
  | { kind: "updated"; project: Project; turnedOn: boolean }
  | { kind: "not_found" }
  | { kind: "script_required" };

export type TriggerResult =
  | { kind: "started"; project: Project; build: StoredBuild }
  | { kind: "queued"; project: Project }
  | { kind: "paused"; project: Project }
  | { kind: "script_required"; project: Project }
  | { kind: "not_found" };

export interface GoldenTruth {
  exists: boolean;
  size_bytes: number;
  built_at: string | null;
}

export interface Outcome {
  status: BuildOutcome;
  finished_at: string;
  error: string | null;
  size_bytes: number | null;
}

export class ProjectStore {
  constructor(
    private readonly sql: SqlClient,
    private readonly defaults: { buildTimeoutSeconds: number } = { buildTimeoutSeconds: 1800 },
  ) {}

  async migrate(): Promise<void> {
    await this.sql.exec(`BEGIN;\nSELECT pg_advisory_xact_lock(${schemaLockKey});\n${schema}\nCOMMIT;`);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  // --- projects and settings ---

  async createProject(input: NewProject, id = `prj_${randomUUID().replaceAll("-", "")}`): Promise<Project> {
    // The first script is the first version of its history.
    const rows = await this.sql.query<ProjectRow>(
      `WITH p AS (
         INSERT INTO projects (id, name, repository_url, default_branch, startup_script, owner_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *),
       v AS (
         INSERT INTO script_versions (project_id, startup_script, saved_by)
         SELECT id, startup_script, owner_id FROM p WHERE startup_script <> '' RETURNING 1)
       SELECT * FROM p`,
      [
        id,
        input.name,
        input.repository_url ?? null,
        input.default_branch ?? "main",
        input.startup_script ?? "",
        input.owner_id ?? null,
      ],
    );
    return this.toProject(first(rows));
  }

  /** Every project, or with `visibleTo` those that user owns or is a member of. */
  async listProjects(visibleTo?: string): Promise<Project[]> {
    const rows = await this.sql.query<ProjectRow>(
      visibleTo === undefined
        ? "SELECT * FROM projects ORDER BY created_at, id"
        : `SELECT p.* FROM projects p
            WHERE p.owner_id = $1
               OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $1)
            ORDER BY p.created_at, p.id`,
      visibleTo === undefined ? [] : [visibleTo],
    );
    return rows.map((row) => this.toProject(row));
  }

  async getProject(id: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>("SELECT * FROM projects WHERE id = $1", [id]);
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  /**
   * Changes settings, and only settings. The setting cannot end up on with an empty script.
   * `turnedOn` is true for exactly one of any number of concurrent updates that turn it on.
   */
  async updateSettings(id: string, change: SettingsChange, savedBy: string | null = null): Promise<SettingsResult> {
    // A changed script becomes a version of its history in the same statement.
    const rows = await this.sql.query<ProjectRow & { was_on: boolean }>(
      `WITH old AS (
         SELECT id, auto_warm_docker_cache AS was_on, startup_script AS old_script FROM projects WHERE id = $1 FOR UPDATE),
       upd AS (
         UPDATE projects p
            SET startup_script = COALESCE($2, p.startup_script),
                auto_warm_docker_cache = COALESCE($3, p.auto_warm_docker_cache),
                build_timeout_seconds = COALESCE($4, p.build_timeout_seconds),
                pause_after_failures = COALESCE($5, p.pause_after_failures),
                updated_at = now(), revision = p.revision + 1
           FROM old
          WHERE p.id = old.id
            AND NOT (COALESCE($3, p.auto_warm_docker_cache) AND btrim(COALESCE($2, p.startup_script)) = '')
         RETURNING p.*, old.was_on, old.old_script),
       v AS (
         INSERT INTO script_versions (project_id, startup_script, saved_by)
         SELECT id, startup_script, $6 FROM upd WHERE startup_script IS DISTINCT FROM old_script RETURNING 1)
       SELECT upd.*, pg_notify('${projectChannel}', upd.id || ':' || upd.revision) AS notified FROM upd`,
      [
        id,
        change.startup_script ?? null,
        change.auto_warm_docker_cache ?? null,
        change.build_timeout_seconds ?? null,
        change.pause_after_failures ?? null,
        savedBy,
      ],
    );
    const row = rows[0];
    if (row) {
      return { kind: "updated", project: this.toProject(row), turnedOn: !row.was_on && row.auto_warm_docker_cache };
    }
    return (await this.getProject(id)) ? { kind: "script_required" } : { kind: "not_found" };
  }

  /**
   * A merge to the default branch: the newest commit, and one more merge the golden lacks.
   * `isNew` is false when the commit was already the newest (a Git host tells of one merge in
   * several deliveries, a caller may retry): nothing changes then.
   */
  async recordMerge(id: string, commitSha: string): Promise<{ project: Project; isNew: boolean } | null> {
    const rows = await this.sql.query<ProjectRow & { is_new: boolean }>(
      `WITH old AS (SELECT id, main_commit IS DISTINCT FROM $2 AS is_new FROM projects WHERE id = $1 FOR UPDATE)
       UPDATE projects p SET main_commit = $2,
              main_merges = p.main_merges + CASE WHEN old.is_new THEN 1 ELSE 0 END,
              updated_at = now(), revision = p.revision + CASE WHEN old.is_new THEN 1 ELSE 0 END
         FROM old WHERE p.id = old.id
       RETURNING p.*, old.is_new, ${notify}`,
      [id, commitSha],
    );
    const row = rows[0];
    return row ? { project: this.toProject(row), isNew: row.is_new } : null;
  }

  /** The project's saved scripts, newest first, with who saved each. */
  async scriptVersions(projectId: string, limit = 50): Promise<ScriptVersion[]> {
    const rows = await this.sql.query<{
      id: string | number;
      startup_script: string;
      saved_at: Date | string;
      user_id: string | null;
      user_name: string | null;
    }>(
      `SELECT v.id, v.startup_script, v.saved_at, u.id AS user_id, u.name AS user_name
         FROM script_versions v LEFT JOIN users u ON u.id = v.saved_by
        WHERE v.project_id = $1 ORDER BY v.id DESC LIMIT $2`,
      [projectId, limit],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      startup_script: row.startup_script,
      saved_at: new Date(row.saved_at).toISOString(),
      saved_by: row.user_id && row.user_name ? { id: row.user_id, name: row.user_name } : null,
    }));
  }

  async setWebhookSecret(id: string, secret: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p SET webhook_secret = $2, updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 RETURNING p.*, ${notify}`,
      [id, secret],
    );
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  /** The project's webhook secret and default branch, or null when it has none (or no project). */
  async webhookTarget(id: string): Promise<{ secret: string; defaultBranch: string } | null> {
    const rows = await this.sql.query<{ webhook_secret: string | null; default_branch: string }>(
      "SELECT webhook_secret, default_branch FROM projects WHERE id = $1",
      [id],
    );
    const row = rows[0];
    return row?.webhook_secret ? { secret: row.webhook_secret, defaultBranch: row.default_branch } : null;
  }

  /** Records a webhook delivery; false when it was seen before (a replay). */
  async recordDelivery(deliveryId: string, projectId: string): Promise<boolean> {
    const rows = await this.sql.query(
      `INSERT INTO webhook_deliveries (delivery_id, project_id) VALUES ($1, $2)
       ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id`,
      [deliveryId, projectId],
    );
    return rows.length === 1;
  }

  // --- the build state machine's transitions ---

  /**
   * The `start` and `queue` transitions in one statement: starts a build when none is running,
   * queues it (replacing any queued before) when one is. A merge while merge builds are paused
   * changes nothing; a retry resumes them.
   */
  async trigger(projectId: string, trigger: BuildTrigger, commitSha: string | null): Promise<TriggerResult> {
    const buildId = newBuildId();
    const now = new Date().toISOString();
    const rows = await this.sql.query<ProjectRow & { queued: boolean; b_id: string | null }>(
      `WITH old AS (
         SELECT * FROM projects WHERE id = $1 FOR UPDATE
       ), decision AS (
         SELECT id, cache_status IN (${sqlStatusList(transitions.queue.from)}) AS building,
                btrim(startup_script) <> '' AS has_script,
                paused_at IS NOT NULL AND NOT $6 AS blocked
           FROM old
       ), upd AS (
         UPDATE projects p
            SET cache_status = CASE WHEN d.building THEN p.cache_status ELSE 'building' END,
                cache_build_id = CASE WHEN d.building THEN p.cache_build_id ELSE $2 END,
                cache_last_build_at = CASE WHEN d.building THEN p.cache_last_build_at ELSE $3::timestamptz END,
                cache_error = CASE WHEN d.building THEN p.cache_error ELSE NULL END,
                evicted_at = CASE WHEN d.building THEN p.evicted_at ELSE NULL END,
                queued_trigger = CASE WHEN d.building THEN $4 ELSE NULL END,
                queued_commit = CASE WHEN d.building THEN COALESCE($5, p.main_commit) ELSE NULL END,
                queued_at = CASE WHEN d.building THEN $3::timestamptz ELSE NULL END,
                paused_at = CASE WHEN $7 THEN NULL ELSE p.paused_at END,
                consecutive_failures = CASE WHEN $7 THEN 0 ELSE p.consecutive_failures END,
                updated_at = now(), revision = p.revision + 1
           FROM decision d
          WHERE p.id = d.id AND d.has_script AND NOT d.blocked
            AND (d.building OR p.cache_status IN (${sqlStatusList(transitions.start.from)}))
         RETURNING p.*, d.building AS queued, ${notify}
       ), ins AS (
         INSERT INTO builds (id, project_id, trigger, commit_sha, status, started_at, merges, timeout_seconds)
         SELECT $2, upd.id, $4, COALESCE($5, upd.main_commit), 'running', $3::timestamptz, upd.main_merges,
                COALESCE(upd.build_timeout_seconds, $8)
           FROM upd WHERE NOT upd.queued
         RETURNING id
       )
       SELECT upd.*, ins.id AS b_id FROM upd LEFT JOIN ins ON true`,
      [
        projectId,
        buildId,
        now,
        trigger,
        commitSha,
        runsWhilePaused(trigger),
        resumes(trigger),
        this.defaults.buildTimeoutSeconds,
      ],
    );
    const row = rows[0];
    if (row) {
      const project = this.toProject(row);
      if (row.queued) return { kind: "queued", project };
      const build = await this.getStoredBuild(buildId);
      if (!build) throw new Error(`build ${buildId} was claimed but not recorded`);
      return { kind: "started", project, build };
    }
    const project = await this.getProject(projectId);
    if (!project) return { kind: "not_found" };
    if (project.startup_script.trim() === "") return { kind: "script_required", project };
    return { kind: "paused", project };
  }

  /** The sandbox accepted the build. */
  async markDispatched(buildId: string): Promise<void> {
    await this.sql.query("UPDATE builds SET dispatched_at = now() WHERE id = $1 AND dispatched_at IS NULL", [buildId]);
  }

  /**
   * The `settle` transition: records a build's outcome, moves the project out of `building`, and
   * starts the queued follow-up if it may run (see build-state-machine.ts), all in one
   * statement. Settling a build twice, or one that is not the project's current build, changes
   * nothing and returns null.
   */
  async settleBuild(
    buildId: string,
    outcome: Outcome,
    golden: GoldenTruth,
  ): Promise<{ project: Project; followUp: StoredBuild | null } | null> {
    const followUpId = newBuildId();
    const rows = await this.sql.query<ProjectRow & { follow_up: boolean }>(
      `WITH settled AS (
         UPDATE builds SET status = $2, finished_at = $3::timestamptz, error = $4, size_bytes = $5
          WHERE id = $1 AND status = 'running'
         RETURNING project_id, commit_sha, merges
       ), old AS (
         SELECT p.* FROM projects p, settled s
          WHERE p.id = s.project_id AND p.cache_build_id = $1
            AND p.cache_status IN (${sqlStatusList(transitions.settle.from)})
          FOR UPDATE OF p
       ), counted AS (
         SELECT old.*, s.commit_sha AS built_commit, s.merges AS built_merges,
                CASE $2 WHEN 'succeeded' THEN 0 WHEN 'stopped' THEN old.consecutive_failures
                        ELSE old.consecutive_failures + 1 END AS failures
           FROM old, settled s
       ), paused AS (
         SELECT counted.*,
                $2 <> 'succeeded' AND (paused_at IS NOT NULL
                  OR ($2 IN ('failed', 'interrupted') AND pause_after_failures > 0
                      AND failures >= pause_after_failures)) AS paused_after
           FROM counted
       ), decision AS (
         SELECT paused.*,
                queued_trigger IS NOT NULL AND $2 <> 'stopped' AND btrim(startup_script) <> ''
                  AND (queued_trigger <> 'merge' OR (auto_warm_docker_cache AND NOT paused_after)) AS follow_up
           FROM paused
       ), upd AS (
         UPDATE projects p
            SET cache_status = CASE WHEN d.follow_up THEN 'building' ELSE $6 END,
                cache_build_id = CASE WHEN d.follow_up THEN $9 ELSE p.cache_build_id END,
                cache_last_build_at = CASE WHEN d.follow_up THEN $10::timestamptz ELSE p.cache_last_build_at END,
                cache_error = CASE WHEN NOT d.follow_up AND $6 = 'failed' THEN $4 ELSE NULL END,
                cache_size_bytes = CASE WHEN $2 = 'succeeded' THEN $5 WHEN $2 = 'stopped' THEN $7
                                        ELSE p.cache_size_bytes END,
                cache_last_ready_at = CASE WHEN $2 = 'succeeded' THEN $3::timestamptz
                                           WHEN $2 = 'stopped' THEN $8::timestamptz ELSE p.cache_last_ready_at END,
                golden_commit = CASE WHEN $2 = 'succeeded' THEN d.built_commit
                                     WHEN $2 = 'stopped' AND $8::timestamptz IS NULL THEN NULL ELSE p.golden_commit END,
                golden_merges = CASE WHEN $2 = 'succeeded' THEN d.built_merges
                                     WHEN $2 = 'stopped' AND $8::timestamptz IS NULL THEN NULL ELSE p.golden_merges END,
                evicted_at = CASE WHEN $2 = 'succeeded' THEN NULL ELSE p.evicted_at END,
                consecutive_failures = d.failures,
                paused_at = CASE WHEN d.paused_after THEN COALESCE(p.paused_at, now()) ELSE NULL END,
                queued_trigger = NULL, queued_commit = NULL, queued_at = NULL,
                updated_at = now(), revision = p.revision + 1
           FROM decision d
          WHERE p.id = d.id
         RETURNING p.*, d.follow_up, d.queued_trigger AS q_trigger, d.queued_commit AS q_commit, ${notify}
       ), ins AS (
         INSERT INTO builds (id, project_id, trigger, commit_sha, status, started_at, merges, timeout_seconds)
         SELECT $9, upd.id, upd.q_trigger, COALESCE(upd.q_commit, upd.main_commit), 'running', $10::timestamptz,
                upd.main_merges, COALESCE(upd.build_timeout_seconds, $11)
           FROM upd WHERE upd.follow_up
         RETURNING id
       )
       SELECT upd.* FROM upd LEFT JOIN ins ON true`,
      [
        buildId,
        outcome.status,
        outcome.finished_at,
        outcome.error,
        outcome.size_bytes,
        statusAfter(outcome.status, golden.exists),
        golden.exists ? golden.size_bytes : 0,
        golden.exists ? golden.built_at : null,
        followUpId,
        new Date().toISOString(),
        this.defaults.buildTimeoutSeconds,
      ],
    );
    const row = rows[0];
    if (!row) return null;
    const followUp = row.follow_up ? await this.getStoredBuild(followUpId) : null;
    return { project: this.toProject(row), followUp };
  }

  /** Drops the queued follow-up, so a stop is not followed by another build. */
  async dropQueue(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p SET queued_trigger = NULL, queued_commit = NULL, queued_at = NULL,
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 AND p.queued_trigger IS NOT NULL RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  /** Lets merges build again after an auto-pause. */
  async resume(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p SET paused_at = NULL, consecutive_failures = 0,
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  /** The `deleteCache` transition; null when the project is building or does not exist. */
  async clearCache(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p
          SET cache_status = 'none', cache_size_bytes = 0, cache_last_ready_at = NULL, cache_error = NULL,
              golden_commit = NULL, golden_merges = NULL, evicted_at = NULL,
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 AND p.cache_status IN (${sqlStatusList(transitions.deleteCache.from)})
       RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  /**
   * The sandbox evicted the project's golden to free disk space: there is no golden any more. A
   * running build goes on (it has its own copy) and will make a new one.
   */
  async goldenEvicted(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p
          SET cache_status = CASE WHEN p.cache_status = 'ready' THEN 'none' ELSE p.cache_status END,
              cache_size_bytes = 0, cache_last_ready_at = NULL, golden_commit = NULL, golden_merges = NULL,
              evicted_at = now(), updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 AND p.cache_last_ready_at IS NOT NULL
       RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? this.toProject(rows[0]) : null;
  }

  // --- builds ---

  async getBuild(projectId: string, buildId: string): Promise<Build | null> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE id = $1 AND project_id = $2", [
      buildId,
      projectId,
    ]);
    return rows[0] ? toBuild(rows[0]) : null;
  }

  async getStoredBuild(buildId: string): Promise<StoredBuild | null> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE id = $1", [buildId]);
    return rows[0] ? toStoredBuild(rows[0]) : null;
  }

  /** The project's builds, newest first. */
  async listBuilds(projectId: string, limit: number): Promise<Build[]> {
    const rows = await this.sql.query<BuildRow>(
      "SELECT * FROM builds WHERE project_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
      [projectId, limit],
    );
    return rows.map(toBuild);
  }

  /** Forgets all but the newest `keep` builds of the project; returns the IDs forgotten. */
  async pruneBuilds(projectId: string, keep: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `DELETE FROM builds WHERE status <> 'running' AND id IN (
         SELECT id FROM builds WHERE project_id = $1 ORDER BY started_at DESC, id DESC OFFSET $2
       ) RETURNING id`,
      [projectId, keep],
    );
    return rows.map((row) => row.id);
  }

  /** Builds the store believes are running, for the monitor to check against the sandbox. */
  async runningBuilds(): Promise<StoredBuild[]> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE status = 'running' ORDER BY started_at");
    return rows.map(toStoredBuild);
  }

  private toProject(row: ProjectRow): Project {
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
        docker_cache_build_timeout_seconds: row.build_timeout_seconds ?? this.defaults.buildTimeoutSeconds,
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
}

function newBuildId(): string {
  return `bld_${randomUUID().replaceAll("-", "")}`;
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

function toBuild(row: BuildRow): Build {
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
  };
}

function toStoredBuild(row: BuildRow): StoredBuild {
  return { ...toBuild(row), dispatched: row.dispatched_at !== null, timeout_seconds: row.timeout_seconds };
}
