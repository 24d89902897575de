// Each project's own user on the sandbox hosts: a user ID and a range of subordinate IDs, kept
// here so that every host gives the project the same ones (store/run-users.ts allocates them).
import type { SqlStatements } from "../sql-client.ts";

export async function up(sql: SqlStatements): Promise<void> {
  await sql.exec(`
-- The n-th project given a user gets the n-th user ID and the n-th subordinate range of the
-- deployment's ranges; set once, never reused.
CREATE SEQUENCE project_run_users MINVALUE 0 START 0;
ALTER TABLE projects ADD COLUMN run_uid integer UNIQUE;
ALTER TABLE projects ADD COLUMN run_subuid_start bigint UNIQUE;
`);
}
