// The BFF's projects: their settings, merges, script history and webhook deliveries, and the
// builds kept of them. Every change is a single SQL statement, so it is atomic on PGlite and on a
// PostgreSQL server alike, and concurrent callers (requests, the build monitor, other BFF
// processes) cannot lose each other's updates; every statement that changes a project also
// announces it (`notify`, project-rows.ts). The cache's state changes only through
// cache-transitions.ts; the tables and their migration are in schema.ts.
import { randomBytes, randomUUID } from "node:crypto";
import { SecretBox } from "../auth/secret-box.ts";
import {
  type Build,
  type BuildRow,
  first,
  notify,
  type Project,
  type ProjectRow,
  projectChannel,
  type ScriptVersion,
  type StoreDefaults,
  type StoredBuild,
  toBuild,
  toProject,
  toStoredBuild,
} from "./project-rows.ts";
import type { SqlClient } from "./sql-client.ts";

interface NewProject {
  name: string;
  /** The user who may change it; every project created through the API has one. */
  owner_id?: string | null;
  repository_url?: string | null;
  default_branch?: string;
  startup_script?: string;
}

interface SettingsChange {
  startup_script?: string;
  auto_warm_docker_cache?: boolean;
  build_timeout_seconds?: number;
  pause_after_failures?: number;
}

type SettingsResult =
  | { kind: "updated"; project: Project; turnedOn: boolean }
  | { kind: "not_found" }
  | { kind: "script_required" };

export class ProjectStore {
  private readonly sql: SqlClient;
  readonly defaults: StoreDefaults;
  /** Seals webhook secrets at rest; a key of this store's own unless given (auth/secret-box.ts). */
  private readonly secrets: SecretBox;

  constructor(
    sql: SqlClient,
    defaults: StoreDefaults = { buildTimeoutSeconds: 1800 },
    secrets: SecretBox = new SecretBox(randomBytes(32)),
  ) {
    this.sql = sql;
    this.defaults = defaults;
    this.secrets = secrets;
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  /** Resolves when the database answers a query. */
  async ping(): Promise<void> {
    await this.sql.query("SELECT 1");
  }

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
    return toProject(first(rows), this.defaults);
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
    return rows.map((row) => toProject(row, this.defaults));
  }

  async getProject(id: string): Promise<Project | null> {
    const rows = await this.sql.query<ProjectRow>("SELECT * FROM projects WHERE id = $1", [id]);
    return rows[0] ? toProject(rows[0], this.defaults) : null;
  }

  /** A project row read elsewhere (with a request's access check), as the API shows it. */
  shown(row: ProjectRow): Project {
    return toProject(row, this.defaults);
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
      return {
        kind: "updated",
        project: toProject(row, this.defaults),
        turnedOn: !row.was_on && row.auto_warm_docker_cache,
      };
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
    return row ? { project: toProject(row, this.defaults), isNew: row.is_new } : null;
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
      [id, this.secrets.seal(secret)],
    );
    return rows[0] ? toProject(rows[0], this.defaults) : null;
  }

  /** Seals the webhook secrets stored before secrets were sealed; returns how many. */
  async sealWebhookSecrets(): Promise<number> {
    const rows = await this.sql.query<{ id: string; webhook_secret: string }>(
      "SELECT id, webhook_secret FROM projects WHERE webhook_secret IS NOT NULL AND webhook_secret NOT LIKE 'sealed:%'",
    );
    for (const row of rows) {
      // Only if it is still the clear value read: a secret set meanwhile is sealed already.
      await this.sql.query("UPDATE projects SET webhook_secret = $2 WHERE id = $1 AND webhook_secret = $3", [
        row.id,
        this.secrets.seal(row.webhook_secret),
        row.webhook_secret,
      ]);
    }
    return rows.length;
  }

  /** The project's webhook secret and default branch, or null when it has none (or no project). */
  async webhookTarget(id: string): Promise<{ secret: string; defaultBranch: string } | null> {
    const rows = await this.sql.query<{ webhook_secret: string | null; default_branch: string }>(
      "SELECT webhook_secret, default_branch FROM projects WHERE id = $1",
      [id],
    );
    const row = rows[0];
    if (!row?.webhook_secret) return null;
    // Sealed under another key (a replica without the shared WEBHOOK_SECRET_KEY): no delivery verifies.
    let secret: string;
    try {
      secret = this.secrets.open(row.webhook_secret);
    } catch {
      return null;
    }
    return { secret, defaultBranch: row.default_branch };
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

  /** The sandbox accepted the build. */
  async markDispatched(buildId: string): Promise<void> {
    await this.sql.query("UPDATE builds SET dispatched_at = now() WHERE id = $1 AND dispatched_at IS NULL", [buildId]);
  }

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

  /** Forgets all but the newest `keep` builds of the project; returns those forgotten, with their hosts. */
  async pruneBuilds(projectId: string, keep: number): Promise<{ id: string; host_id: string | null }[]> {
    return this.sql.query<{ id: string; host_id: string | null }>(
      `DELETE FROM builds WHERE status <> 'running' AND id IN (
         SELECT id FROM builds WHERE project_id = $1 ORDER BY started_at DESC, id DESC OFFSET $2
       ) RETURNING id, host_id`,
      [projectId, keep],
    );
  }

  /** Builds the store believes are running, for the monitor to check against the sandbox. */
  async runningBuilds(): Promise<StoredBuild[]> {
    const rows = await this.sql.query<BuildRow>("SELECT * FROM builds WHERE status = 'running' ORDER BY started_at");
    return rows.map(toStoredBuild);
  }
}
