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
   * The hosts that hold the project's golden ready, as one list per generation, the newest first
   * (before there were records of hosts' goldens: the host of the last successful build).
   */
  async goldenHosts(projectId: string): Promise<string[][]> {
    // A host fetching a newer generation still holds the one it had.
    const rows = await this.sql.query<{ host_id: string; build_id: string }>(
      `SELECT host_id, build_id FROM (
         SELECT host_id, build_id, generation_at FROM host_goldens WHERE project_id = $1 AND state = 'ready'
         UNION ALL
         SELECT host_id, held_build_id, held_generation_at FROM host_goldens
          WHERE project_id = $1 AND state <> 'ready' AND held_build_id IS NOT NULL
       ) held ORDER BY generation_at DESC, build_id, host_id`,
      [projectId],
    );
    if (rows.length > 0) {
      const generations: string[][] = [];
      rows.forEach((row, i) => {
        if (i === 0 || rows[i - 1]?.build_id !== row.build_id) generations.push([]);
        generations.at(-1)?.push(row.host_id);
      });
      return generations;
    }
    const built = await this.sql.query<{ host_id: string | null }>(
      `SELECT host_id FROM builds WHERE project_id = $1 AND status = 'succeeded'
        ORDER BY finished_at DESC NULLS LAST, started_at DESC LIMIT 1`,
      [projectId],
    );
    return built[0]?.host_id ? [[built[0].host_id]] : [];
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

  /** The cache the session started from, as recorded when it was first seen prepared. */
  async sessionCache(
    sessionId: string,
  ): Promise<{ build_id: string; commit_sha: string | null; newest: boolean; merges_behind: number } | null> {
    const rows = await this.sql.query<{
      cache_build_id: string | null;
      cache_commit_sha: string | null;
      cache_newest: boolean | null;
      cache_merges_behind: number | null;
    }>("SELECT cache_build_id, cache_commit_sha, cache_newest, cache_merges_behind FROM test_sessions WHERE id = $1", [
      sessionId,
    ]);
    const row = rows[0];
    if (!row?.cache_build_id) return null;
    return {
      build_id: row.cache_build_id,
      commit_sha: row.cache_commit_sha,
      newest: row.cache_newest === true,
      merges_behind: Number(row.cache_merges_behind ?? 0),
    };
  }

  /** Records the cache the session started from, once: later answers say how it stood then. */
  async recordSessionCache(
    sessionId: string,
    cache: { build_id: string; commit_sha: string | null; newest: boolean; merges_behind: number },
  ): Promise<void> {
    await this.sql.query(
      `UPDATE test_sessions SET cache_build_id = $2, cache_commit_sha = $3, cache_newest = $4, cache_merges_behind = $5
        WHERE id = $1 AND cache_build_id IS NULL`,
      [sessionId, cache.build_id, cache.commit_sha, cache.newest, cache.merges_behind],
    );
  }

  /** Builds sent before there was a fleet ran on SANDBOX_URL's host: they are recorded there. */
  async adoptUnplacedBuilds(hostId: string): Promise<void> {
    await this.sql.query("UPDATE builds SET host_id = $1 WHERE host_id IS NULL AND dispatched_at IS NOT NULL", [
      hostId,
    ]);
  }
}
