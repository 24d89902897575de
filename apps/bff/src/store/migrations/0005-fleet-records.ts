// What the fleet's records need besides 0004: what a host still holds while it fetches a newer
// generation of a project's golden (sessions there start from it meanwhile, so placement counts
// the host as warm and the page says so), and when the project's cache was last deleted (a golden
// made before then is not recorded again, on any host).
import type { SqlStatements } from "../sql-client.ts";

export async function up(sql: SqlStatements): Promise<void> {
  await sql.exec(`
-- Set when a host that held a generation ready is asked for a newer one; cleared once the newer
-- one is promoted there (or a build promotes one there). Kept when the fetch fails: the older
-- one is still there.
ALTER TABLE host_goldens ADD COLUMN held_build_id text;
ALTER TABLE host_goldens ADD COLUMN held_generation_at timestamptz;
ALTER TABLE host_goldens ADD COLUMN held_size_bytes bigint;

-- Set by the cache's deletion (every host at once), not by one host's clean-up of a stray golden.
ALTER TABLE projects ADD COLUMN cache_deleted_at timestamptz;
`);
}
