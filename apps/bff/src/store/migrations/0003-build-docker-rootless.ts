// Whether a build's Docker daemon ran rootless, as its project's own user, or as root.
import type { SqlStatements } from "../sql-client.ts";

export async function up(sql: SqlStatements): Promise<void> {
  await sql.exec(`
-- Null on builds recorded before daemons were rootless: theirs ran as root (project-rows.ts reads
-- it so), and without a daemon there is nothing to say.
ALTER TABLE builds ADD COLUMN docker_rootless boolean;
`);
}
