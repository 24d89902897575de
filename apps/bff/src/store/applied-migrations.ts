// The record of which migrations a database has run: one row per migration, written in the
// transaction that runs it, so a migration and its record are committed together or not at all.
import type { UmzugStorage } from "umzug";
import type { SqlStatements } from "./sql-client.ts";

export async function ensureAppliedMigrationsTable(sql: SqlStatements): Promise<void> {
  await sql.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
  name text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
}

export async function appliedMigrationNames(sql: SqlStatements): Promise<string[]> {
  const rows = await sql.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name");
  return rows.map((row) => row.name);
}

/** Umzug's storage over the transaction that runs the migrations (its context). */
export const appliedMigrations: UmzugStorage<SqlStatements> = {
  async executed({ context }) {
    return appliedMigrationNames(context);
  },
  async logMigration({ name, context }) {
    await context.query("INSERT INTO schema_migrations (name) VALUES ($1)", [name]);
  },
  async unlogMigration({ name, context }) {
    await context.query("DELETE FROM schema_migrations WHERE name = $1", [name]);
  },
};
