// Which sandbox host each build and test session was sent to, and what placing the next one
// needs to know. A build's host is written once: the first placement made is the one kept.
import type { SqlClient } from "./sql-client.ts";

export class Placements {
  private readonly sql: SqlClient;

  constructor(sql: SqlClient) {
    this.sql = sql;
  }

  async buildHost(buildId: string): Promise<string | null> {
    const rows = await this.sql.query<{ host_id: string | null }>("SELECT host_id FROM builds WHERE id = $1", [
      buildId,
    ]);
    return rows[0]?.host_id ?? null;
  }

  /** Places the running build on `hostId` unless it was placed already; the host it is placed on (null: it ended). */
  async placeBuild(buildId: string, hostId: string): Promise<string | null> {
    const rows = await this.sql.query<{ host_id: string | null }>(
      "UPDATE builds SET host_id = COALESCE(host_id, $2) WHERE id = $1 AND status = 'running' RETURNING host_id",
      [buildId, hostId],
    );
    return rows[0]?.host_id ?? (await this.buildHost(buildId));
  }

  async hostExists(hostId: string): Promise<boolean> {
    return (await this.sql.query("SELECT 1 FROM sandbox_hosts WHERE id = $1", [hostId])).length > 0;
  }

  /**
   * The hosts that hold the project's golden, newest generation first; for a golden made before
   * the fleet, the host of the project's last successful build.
   */
  async goldenHosts(projectId: string): Promise<string[]> {
    const rows = await this.sql.query<{ host_id: string }>(
      `SELECT host_id FROM host_goldens WHERE project_id = $1 AND state = 'ready'
        ORDER BY generation_at DESC, updated_at DESC`,
      [projectId],
    );
    if (rows.length > 0) return rows.map((row) => row.host_id);
    const built = await this.sql.query<{ host_id: string | null }>(
      `SELECT host_id FROM builds WHERE project_id = $1 AND status = 'succeeded'
        ORDER BY finished_at DESC NULLS LAST, started_at DESC LIMIT 1`,
      [projectId],
    );
    return built[0]?.host_id ? [built[0].host_id] : [];
  }

  async runningBuildsByHost(): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ host_id: string; running: string | number }>(
      "SELECT host_id, count(*) AS running FROM builds WHERE status = 'running' AND host_id IS NOT NULL GROUP BY host_id",
    );
    return new Map(rows.map((row) => [row.host_id, Number(row.running)]));
  }

  async recordSession(sessionId: string, projectId: string, hostId: string): Promise<void> {
    await this.sql.query("INSERT INTO test_sessions (id, project_id, host_id) VALUES ($1, $2, $3)", [
      sessionId,
      projectId,
      hostId,
    ]);
  }

  /** The host of the project's test session; undefined for a session of no record (another project's, or none). */
  async sessionHost(sessionId: string, projectId: string): Promise<string | null | undefined> {
    const rows = await this.sql.query<{ host_id: string | null }>(
      "SELECT host_id FROM test_sessions WHERE id = $1 AND project_id = $2",
      [sessionId, projectId],
    );
    return rows[0] ? rows[0].host_id : undefined;
  }

  /** Builds sent before there was a fleet ran on SANDBOX_URL's host: they are recorded there. */
  async adoptUnplacedBuilds(hostId: string): Promise<void> {
    await this.sql.query("UPDATE builds SET host_id = $1 WHERE host_id IS NULL AND dispatched_at IS NOT NULL", [
      hostId,
    ]);
  }
}
