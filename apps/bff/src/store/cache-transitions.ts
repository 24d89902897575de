// The Docker cache state machine's transitions (docker-cache/build-state-machine.ts) as the
// store applies them: start or queue, settle (starting the queued follow-up), drop the queue,
// resume, delete the cache, and a golden evicted by the sandbox. Each is one statement guarded by
// the state machine's `from`, so it is atomic on PGlite and on a PostgreSQL server alike, and of
// any number of racing callers (requests, the build monitor, other BFF processes) only those the
// machine allows take effect. Each also announces the change (`notify`).
import {
  type BuildOutcome,
  type BuildTrigger,
  resumes,
  runsWhilePaused,
  sqlStatusList,
  statusAfter,
  transitions,
} from "../docker-cache/build-state-machine.ts";
import {
  type Build,
  newBuildId,
  notify,
  type Project,
  type ProjectRow,
  type StoreDefaults,
  type StoredBuild,
  toProject,
} from "./project-rows.ts";
import type { ProjectStore } from "./project-store.ts";
import type { SqlClient, SqlStatements } from "./sql-client.ts";

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
  /** The Docker daemon the build's script had, as the sandbox reports it; none when left out. */
  docker_engine?: Build["docker_engine"];
}

/** What a settle changed: the project, the follow-up it started, and the build that ended. */
export interface Settled {
  project: Project;
  followUp: StoredBuild | null;
  ended: { trigger: string; startedAt: Date };
  /** When the follow-up was queued, for how long it waited. */
  followUpQueuedAt: Date | null;
}

export class CacheTransitions {
  private readonly sql: SqlClient;
  private readonly store: ProjectStore;
  private readonly defaults: StoreDefaults;

  constructor(sql: SqlClient, store: ProjectStore, defaults: StoreDefaults) {
    this.sql = sql;
    this.store = store;
    this.defaults = defaults;
  }

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
         -- Decided on the row as locked: on a server, a trigger that waited for a settle's lock
         -- sees the settled row here, while the UPDATE below reads it as of the statement's start.
         SELECT id, cache_status IN (${sqlStatusList(transitions.queue.from)}) AS building,
                cache_status IN (${sqlStatusList(transitions.start.from)}) AS startable,
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
            AND (d.building OR d.startable)
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
      const project = toProject(row, this.defaults);
      if (row.queued) return { kind: "queued", project };
      const build = await this.store.getStoredBuild(buildId);
      if (!build) throw new Error(`build ${buildId} was claimed but not recorded`);
      return { kind: "started", project, build };
    }
    const project = await this.store.getProject(projectId);
    if (!project) return { kind: "not_found" };
    if (project.startup_script.trim() === "") return { kind: "script_required", project };
    return { kind: "paused", project };
  }

  /**
   * The `settle` transition: records a build's outcome, moves the project out of `building`, and
   * starts the queued follow-up if it may run (see build-state-machine.ts), all in one
   * statement. Settling a build twice, or one that is not the project's current build, changes
   * nothing and returns null.
   */
  async settleBuild(buildId: string, outcome: Outcome, golden: GoldenTruth): Promise<Settled | null> {
    const followUpId = newBuildId();
    const rows = await this.sql.query<
      ProjectRow & { follow_up: boolean; ended_trigger: string; ended_started_at: Date; q_at: Date | null }
    >(
      `WITH settled AS (
         UPDATE builds SET status = $2, finished_at = $3::timestamptz, error = $4, size_bytes = $5,
                docker_version = $12, docker_storage_driver = $13, docker_rootless = $14
          WHERE id = $1 AND status = 'running'
         RETURNING project_id, commit_sha, merges, trigger, started_at
       ), old AS (
         SELECT p.* FROM projects p, settled s
          WHERE p.id = s.project_id AND p.cache_build_id = $1
            AND p.cache_status IN (${sqlStatusList(transitions.settle.from)})
          FOR UPDATE OF p
       ), counted AS (
         SELECT old.*, s.commit_sha AS built_commit, s.merges AS built_merges,
                s.trigger AS ended_trigger, s.started_at AS ended_started_at,
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
         RETURNING p.*, d.follow_up, d.queued_trigger AS q_trigger, d.queued_commit AS q_commit,
                   d.queued_at AS q_at, d.ended_trigger, d.ended_started_at, ${notify}
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
        outcome.docker_engine?.version ?? null,
        outcome.docker_engine?.storage_driver ?? null,
        outcome.docker_engine?.rootless ?? null,
      ],
    );
    const row = rows[0];
    if (!row) return null;
    const followUp = row.follow_up ? await this.store.getStoredBuild(followUpId) : null;
    return {
      project: toProject(row, this.defaults),
      followUp,
      ended: { trigger: row.ended_trigger, startedAt: new Date(row.ended_started_at) },
      followUpQueuedAt: followUp && row.q_at ? new Date(row.q_at) : null,
    };
  }

  /** Drops the queued follow-up, so a stop is not followed by another build. */
  async dropQueue(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p SET queued_trigger = NULL, queued_commit = NULL, queued_at = NULL,
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 AND p.queued_trigger IS NOT NULL RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? toProject(rows[0], this.defaults) : null;
  }

  /** Lets merges build again after an auto-pause. */
  async resume(projectId: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>(
      `UPDATE projects p SET paused_at = NULL, consecutive_failures = 0,
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? toProject(rows[0], this.defaults) : null;
  }

  /**
   * The `deleteCache` transition; null when the project is building or does not exist. Run in
   * `tx` by HostGoldens.deleteEverywhere, with the hosts' deletions it records.
   */
  async clearCache(projectId: string, tx: SqlStatements = this.sql): Promise<Project | null> {
    const rows = await tx.query<ProjectRow>(
      `UPDATE projects p
          SET cache_status = 'none', cache_size_bytes = 0, cache_last_ready_at = NULL, cache_error = NULL,
              golden_commit = NULL, golden_merges = NULL, evicted_at = NULL, cache_deleted_at = now(),
              updated_at = now(), revision = p.revision + 1
        WHERE p.id = $1 AND p.cache_status IN (${sqlStatusList(transitions.deleteCache.from)})
       RETURNING p.*, ${notify}`,
      [projectId],
    );
    return rows[0] ? toProject(rows[0], this.defaults) : null;
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
    return rows[0] ? toProject(rows[0], this.defaults) : null;
  }
}
