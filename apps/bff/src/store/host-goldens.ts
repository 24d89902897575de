// Each sandbox host's golden of each project, as the BFF last heard it, and the deletions hosts
// still owe. A project's newest generation is the newest (by its build's start) that a host
// holds; a host is due a replication when it does not hold that one, and never while it owes a
// deletion. Asking for a replication and deleting the cache take the project's row lock, so one
// never slips between the other's read and write.
import type { components } from "@prewarm/api-types/sandbox";
import type { SqlClient, SqlStatements } from "./sql-client.ts";

/**
 * Every change of a host's golden NOTIFYs this channel with the project's ID (`announce`, in the
 * changing statement itself), so the page's per-host view is pushed from any BFF process.
 */
export const goldensChannel = "prewarm_goldens";
const announce = `pg_notify('${goldensChannel}', project_id) AS notified`;

type Replication = components["schemas"]["Replication"];

export interface HostGolden {
  host_id: string;
  project_id: string;
  build_id: string;
  state: "ready" | "replicating" | "failed";
  progress: number;
  size_bytes: number;
  error: string | null;
  updated_at: string;
  /** When the build that made the generation started: generations are ordered by it. */
  generation_at: string;
  /** Of the build that made the generation, when it is still kept. */
  commit_sha: string | null;
  /** Merges to main since that build started. */
  merges_behind: number;
  /**
   * The older generation the host still holds while this one is on its way or failed to come:
   * sessions there start from it meanwhile. Null when it holds no other.
   */
  held: HeldGeneration | null;
}

export interface HeldGeneration {
  build_id: string;
  size_bytes: number;
  commit_sha: string | null;
  merges_behind: number;
}

interface Row
  extends Omit<HostGolden, "size_bytes" | "updated_at" | "generation_at" | "commit_sha" | "merges_behind" | "held"> {
  size_bytes: string | number;
  updated_at: Date | string;
  generation_at: Date | string;
  commit_sha?: string | null;
  merges_behind?: string | number | null;
  held_build_id: string | null;
  held_size_bytes: string | number | null;
  held_commit_sha?: string | null;
  held_merges_behind?: string | number | null;
}

function toHostGolden(row: Row): HostGolden {
  return {
    host_id: row.host_id,
    project_id: row.project_id,
    build_id: row.build_id,
    state: row.state,
    progress: Number(row.progress),
    size_bytes: Number(row.size_bytes),
    error: row.error,
    updated_at: new Date(row.updated_at).toISOString(),
    generation_at: new Date(row.generation_at).toISOString(),
    commit_sha: row.commit_sha ?? null,
    merges_behind: Number(row.merges_behind ?? 0),
    held:
      row.held_build_id === null
        ? null
        : {
            build_id: row.held_build_id,
            size_bytes: Number(row.held_size_bytes ?? 0),
            commit_sha: row.held_commit_sha ?? null,
            merges_behind: Number(row.held_merges_behind ?? 0),
          },
  };
}

export class HostGoldens {
  private readonly sql: SqlClient;

  constructor(sql: SqlClient) {
    this.sql = sql;
  }

  /** The project's goldens on every host, newest generation first. */
  async ofProject(projectId: string): Promise<HostGolden[]> {
    const rows = await this.sql.query<Row>(
      `SELECT g.*, b.commit_sha, GREATEST(p.main_merges - b.merges, 0) AS merges_behind,
              hb.commit_sha AS held_commit_sha, GREATEST(p.main_merges - hb.merges, 0) AS held_merges_behind
         FROM host_goldens g JOIN projects p ON p.id = g.project_id
         LEFT JOIN builds b ON b.id = g.build_id LEFT JOIN builds hb ON hb.id = g.held_build_id
        WHERE g.project_id = $1 ORDER BY g.generation_at DESC, g.host_id`,
      [projectId],
    );
    return rows.map(toHostGolden);
  }

  /**
   * What is known of a generation of the project's golden: its build's commit, how far behind main
   * it is, and whether it is the newest any host holds (or, before the fleet, the last one built).
   */
  async generation(
    projectId: string,
    buildId: string,
  ): Promise<{ commit_sha: string | null; merges_behind: number; newest: boolean }> {
    const rows = await this.sql.query<{
      commit_sha: string | null;
      behind: string | number | null;
      newest: string | null;
    }>(
      `SELECT b.commit_sha, GREATEST(p.main_merges - b.merges, 0) AS behind,
              COALESCE(
                (SELECT g.build_id FROM host_goldens g WHERE g.project_id = p.id AND g.state = 'ready'
                  ORDER BY g.generation_at DESC LIMIT 1),
                (SELECT l.id FROM builds l WHERE l.project_id = p.id AND l.status = 'succeeded'
                  ORDER BY l.started_at DESC LIMIT 1)) AS newest
         FROM projects p LEFT JOIN builds b ON b.id = $2 AND b.project_id = p.id
        WHERE p.id = $1`,
      [projectId, buildId],
    );
    const row = rows[0];
    return {
      commit_sha: row?.commit_sha ?? null,
      merges_behind: Number(row?.behind ?? 0),
      newest: row?.newest === buildId,
    };
  }

  /**
   * Projects whose newest golden some active host (or the one given) does not hold ready: the
   * only ones a catch-up has anything to do for. One query, however many projects there are.
   */
  async lagging(hostId?: string): Promise<string[]> {
    const rows = await this.sql.query<{ project_id: string }>(
      `WITH newest AS (
         SELECT DISTINCT ON (project_id) project_id, build_id FROM host_goldens
          WHERE state = 'ready' ORDER BY project_id, generation_at DESC
       )
       SELECT DISTINCT n.project_id FROM newest n
         JOIN sandbox_hosts h ON h.state = 'active' AND ($1::text IS NULL OR h.id = $1)
        WHERE NOT EXISTS (
          SELECT 1 FROM host_goldens g
           WHERE g.project_id = n.project_id AND g.host_id = h.id AND g.build_id = n.build_id AND g.state = 'ready'
        )
        ORDER BY n.project_id`,
      [hostId ?? null],
    );
    return rows.map((row) => row.project_id);
  }

  /** A build promoted its golden on its host. */
  async built(hostId: string, projectId: string, buildId: string, sizeBytes: number): Promise<void> {
    await this.sql.query(
      `INSERT INTO host_goldens (host_id, project_id, build_id, generation_at, state, progress, size_bytes)
       SELECT $1, $2, $3, b.started_at, 'ready', 1, $4 FROM builds b JOIN projects p ON p.id = b.project_id
        WHERE b.id = $3
          -- A build the cache was deleted after (between its end and this record) is not recorded.
          AND (p.cache_deleted_at IS NULL OR p.cache_deleted_at < b.started_at)
       ON CONFLICT (host_id, project_id) DO UPDATE
         SET build_id = $3, generation_at = excluded.generation_at, state = 'ready', progress = 1,
             size_bytes = $4, error = NULL, updated_at = now(),
             held_build_id = NULL, held_generation_at = NULL, held_size_bytes = NULL
       RETURNING ${announce}`,
      [hostId, projectId, buildId, sizeBytes],
    );
  }

  /**
   * Marks the host as fetching the generation; false, and nothing is to be asked, when it owes a
   * deletion of the project's golden, when no host holds that generation any more, or when the
   * host holds a newer one by now.
   */
  async replicating(hostId: string, projectId: string, buildId: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      await tx.query("SELECT id FROM projects WHERE id = $1 FOR UPDATE", [projectId]);
      const rows = await tx.query(
        `INSERT INTO host_goldens (host_id, project_id, build_id, generation_at, state, progress)
         SELECT $1, $2, $3, source.generation_at, 'replicating', 0
           FROM (SELECT generation_at FROM host_goldens WHERE project_id = $2 AND build_id = $3 AND state = 'ready' LIMIT 1) source
          WHERE NOT EXISTS (SELECT 1 FROM golden_deletions WHERE host_id = $1 AND project_id = $2 AND done_at IS NULL)
         ON CONFLICT (host_id, project_id) DO UPDATE
           SET build_id = $3, generation_at = excluded.generation_at, state = 'replicating', progress = 0,
               error = NULL, updated_at = now(),
               -- What it held ready it still holds until the newer one is promoted there.
               held_build_id = CASE WHEN host_goldens.state = 'ready' AND host_goldens.build_id <> $3
                                    THEN host_goldens.build_id ELSE host_goldens.held_build_id END,
               held_generation_at = CASE WHEN host_goldens.state = 'ready' AND host_goldens.build_id <> $3
                                         THEN host_goldens.generation_at ELSE host_goldens.held_generation_at END,
               held_size_bytes = CASE WHEN host_goldens.state = 'ready' AND host_goldens.build_id <> $3
                                      THEN host_goldens.size_bytes ELSE host_goldens.held_size_bytes END
           WHERE host_goldens.generation_at < excluded.generation_at
              OR (host_goldens.build_id = $3 AND host_goldens.state <> 'ready')
         RETURNING host_id, ${announce}`,
        [hostId, projectId, buildId],
      );
      return rows.length === 1;
    });
  }

  /** What the host said of the replication it was asked for; null when it was not asked for that generation (any more). */
  async heard(hostId: string, replication: Replication): Promise<HostGolden | null> {
    const state =
      replication.state === "promoted"
        ? "ready"
        : replication.state === "failed" || replication.state === "cancelled"
          ? "failed"
          : "replicating";
    const rows = await this.sql.query<Row>(
      `UPDATE host_goldens SET state = $4, progress = $5, size_bytes = $6, error = $7, updated_at = now(),
              held_build_id = CASE WHEN $4 = 'ready' THEN NULL ELSE held_build_id END,
              held_generation_at = CASE WHEN $4 = 'ready' THEN NULL ELSE held_generation_at END,
              held_size_bytes = CASE WHEN $4 = 'ready' THEN NULL ELSE held_size_bytes END
        WHERE host_id = $1 AND project_id = $2 AND build_id = $3 AND state <> 'ready' RETURNING *, ${announce}`,
      [
        hostId,
        replication.project_id,
        replication.build_id,
        state,
        replication.progress,
        replication.size_bytes,
        replication.state === "cancelled" ? (replication.error ?? "Cancelled") : replication.error,
      ],
    );
    return rows[0] ? toHostGolden(rows[0]) : null;
  }

  /** Whether the BFF knows of any golden of the project on the host, held or on its way. */
  async holds(hostId: string, projectId: string): Promise<boolean> {
    const rows = await this.sql.query("SELECT 1 FROM host_goldens WHERE host_id = $1 AND project_id = $2", [
      hostId,
      projectId,
    ]);
    return rows.length > 0;
  }

  async failed(hostId: string, projectId: string, buildId: string, error: string): Promise<void> {
    await this.sql.query(
      `UPDATE host_goldens SET state = 'failed', error = $4, updated_at = now()
        WHERE host_id = $1 AND project_id = $2 AND build_id = $3 AND state <> 'ready' RETURNING ${announce}`,
      [hostId, projectId, buildId, error.slice(0, 500)],
    );
  }

  /** The host no longer holds the project's golden (evicted). */
  async forget(hostId: string, projectId: string): Promise<void> {
    await this.sql.query(`DELETE FROM host_goldens WHERE host_id = $1 AND project_id = $2 RETURNING ${announce}`, [
      hostId,
      projectId,
    ]);
  }

  /**
   * The cache is deleted, under the project's row lock and only if `clear` (the project's own
   * record of its cache, cleared in the same transaction) agrees: no host holds the golden any
   * more, and every registered host owes the deletion until it has done it. When `clear` answers
   * null (a build runs), nothing is recorded.
   */
  async deleteEverywhere<T>(projectId: string, clear: (tx: SqlStatements) => Promise<T | null>): Promise<T | null> {
    return this.sql.transaction(async (tx) => {
      await tx.query("SELECT id FROM projects WHERE id = $1 FOR UPDATE", [projectId]);
      const cleared = await clear(tx);
      if (cleared !== null) await owe(tx, projectId, null);
      return cleared;
    });
  }

  /** The one host holds a golden of the project nobody wants any more: it owes its deletion. */
  async deleteOn(hostId: string, projectId: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query("SELECT id FROM projects WHERE id = $1 FOR UPDATE", [projectId]);
      await owe(tx, projectId, hostId);
    });
  }

  /** The projects the records say the host holds a golden of (ready, arriving or failed). */
  async recordedOn(hostId: string): Promise<Set<string>> {
    const rows = await this.sql.query<{ project_id: string }>(
      "SELECT project_id FROM host_goldens WHERE host_id = $1",
      [hostId],
    );
    return new Set(rows.map((row) => row.project_id));
  }

  /**
   * A golden the host says it holds and the records do not know of, set against them under the
   * project's row lock: `recorded` as ready (it arrived unheard of: a replication promoted while
   * no BFF listened), or `owed` (the project's cache was deleted after this generation was made:
   * the host now owes its deletion, as if it had been there when it was asked). `foreign`: this
   * database has no such project, and the golden is left alone.
   */
  async account(
    hostId: string,
    golden: { project_id: string; build_id: string; size_bytes: number; built_at: string | null },
  ): Promise<"known" | "recorded" | "owed" | "foreign"> {
    return this.sql.transaction(async (tx) => {
      const project = await tx.query<{ cache_deleted_at: Date | string | null }>(
        "SELECT cache_deleted_at FROM projects WHERE id = $1 FOR UPDATE",
        [golden.project_id],
      );
      if (!project[0]) return "foreign";
      const known = await tx.query("SELECT 1 FROM host_goldens WHERE host_id = $1 AND project_id = $2", [
        hostId,
        golden.project_id,
      ]);
      if (known.length > 0) return "known";
      // When the generation was made: its build's start, or the host's word once the build is pruned.
      const build = await tx.query<{ started_at: Date | string }>("SELECT started_at FROM builds WHERE id = $1", [
        golden.build_id,
      ]);
      const made = build[0]
        ? new Date(build[0].started_at).toISOString()
        : (golden.built_at ?? new Date(0).toISOString());
      const deletedAt = project[0].cache_deleted_at;
      if (deletedAt !== null && new Date(deletedAt) > new Date(made)) {
        await owe(tx, golden.project_id, hostId);
        return "owed";
      }
      await tx.query(
        `INSERT INTO host_goldens (host_id, project_id, build_id, generation_at, state, progress, size_bytes)
         VALUES ($1, $2, $3, $4, 'ready', 1, $5) RETURNING ${announce}`,
        [hostId, golden.project_id, golden.build_id, made, golden.size_bytes],
      );
      return "recorded";
    });
  }

  /** When the deletion the host owes of the project's golden was asked for; null when it owes none. */
  async owedSince(hostId: string, projectId: string): Promise<string | null> {
    const rows = await this.sql.query<{ requested_at: Date | string }>(
      "SELECT requested_at FROM golden_deletions WHERE host_id = $1 AND project_id = $2 AND done_at IS NULL",
      [hostId, projectId],
    );
    return rows[0] ? new Date(rows[0].requested_at).toISOString() : null;
  }

  async deletionsOwed(hostId: string): Promise<string[]> {
    const rows = await this.sql.query<{ project_id: string }>(
      "SELECT project_id FROM golden_deletions WHERE host_id = $1 AND done_at IS NULL ORDER BY requested_at",
      [hostId],
    );
    return rows.map((row) => row.project_id);
  }

  /** The host did the deletion asked for at `requestedAt`; one asked for since is still owed. */
  async deletionDone(hostId: string, projectId: string, requestedAt: string): Promise<void> {
    await this.sql.query(
      `UPDATE golden_deletions SET done_at = now()
        WHERE host_id = $1 AND project_id = $2 AND done_at IS NULL AND requested_at <= $3`,
      [hostId, projectId, requestedAt],
    );
  }
}

/** Forgets the project's golden on every host (or the one given), each of which now owes its deletion. */
async function owe(tx: SqlStatements, projectId: string, hostId: string | null): Promise<void> {
  // The hosts first, as removing a host locks its row before its goldens' rows: never the other way round.
  await tx.query("SELECT id FROM sandbox_hosts WHERE $1::text IS NULL OR id = $1 FOR KEY SHARE", [hostId]);
  await tx.query(
    `DELETE FROM host_goldens WHERE project_id = $1 AND ($2::text IS NULL OR host_id = $2) RETURNING ${announce}`,
    [projectId, hostId],
  );
  await tx.query(
    `INSERT INTO golden_deletions (host_id, project_id)
     SELECT id, $1 FROM sandbox_hosts WHERE $2::text IS NULL OR id = $2
     ON CONFLICT (host_id, project_id) DO UPDATE SET requested_at = now(), done_at = NULL`,
    [projectId, hostId],
  );
}
