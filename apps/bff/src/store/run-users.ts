// Invariant: a project's user on the sandbox hosts (its user ID and subordinate ID range) is
// allocated once, the first time it is asked for, and never changes or goes to another project:
// an UPDATE guarded by `run_uid IS NULL` takes the next number of a sequence (numbers skipped
// meanwhile are never reused), and both columns are unique. Every build and test session sent to a
// sandbox host carries it.
import type { components } from "@prewarm/api-types/sandbox";
import type { SqlClient } from "./sql-client.ts";

export type RunUser = components["schemas"]["RunUser"];

/** Where the deployment's project users are numbered from (RUN_UID_FIRST, RUN_SUBUID_FIRST). */
export interface RunUserRanges {
  firstUid: number;
  firstSubuid: number;
}

export const subuidCount = 65_536;

/** RUN_UID_FIRST and RUN_SUBUID_FIRST's defaults (env.ts). */
export const defaultRunUserRanges: RunUserRanges = { firstUid: 200_000, firstSubuid: 300_000_000 };

export class RunUsers {
  private readonly sql: SqlClient;
  private readonly ranges: RunUserRanges;

  constructor(sql: SqlClient, ranges: RunUserRanges) {
    this.sql = sql;
    this.ranges = ranges;
  }

  /** The project's user, allocated now if it has none yet; null for a project that does not exist. */
  async of(projectId: string): Promise<RunUser | null> {
    // Two statements: one that waited for a concurrent allocation of the same project must read
    // that one's result, which only a statement begun after it committed can see.
    await this.sql.query(
      `UPDATE projects SET run_uid = $2 + n, run_subuid_start = $3 + n * ${subuidCount}
         FROM (SELECT nextval('project_run_users') AS n) next
        WHERE id = $1 AND run_uid IS NULL`,
      [projectId, this.ranges.firstUid, this.ranges.firstSubuid],
    );
    const rows = await this.sql.query<{ run_uid: number | null; run_subuid_start: string | null }>(
      "SELECT run_uid, run_subuid_start FROM projects WHERE id = $1",
      [projectId],
    );
    const row = rows[0];
    if (!row || row.run_uid === null || row.run_subuid_start === null) return null;
    return { uid: Number(row.run_uid), subuid_start: Number(row.run_subuid_start), subuid_count: subuidCount };
  }
}
