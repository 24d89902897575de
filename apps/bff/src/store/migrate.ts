// A database is at a version this code knows: the migrations in `migrations/all-migrations.ts`
// that it records are the ones it ran, each once, in the order of that list. One run of
// `migrate` is one transaction under an advisory lock, so BFF processes starting together on one
// PostgreSQL server wait for each other and none runs a migration that another has run, and a
// run that fails leaves the database as it was. A database that records a migration this code
// does not know was migrated by a newer version, and is left untouched.
import { Umzug } from "umzug";
import { appliedMigrationNames, appliedMigrations, ensureAppliedMigrationsTable } from "./applied-migrations.ts";
import { allMigrations, type Migration } from "./migrations/all-migrations.ts";
import type { SqlClient, SqlStatements } from "./sql-client.ts";

const schemaLockKey = 7_070_001;

/** The database was migrated by a newer version of the BFF, whose schema this one cannot know. */
export class NewerDatabaseError extends Error {
  readonly unknownMigrations: string[];

  constructor(unknownMigrations: string[]) {
    super(
      `The database records migrations that this version of the BFF does not know (${unknownMigrations.join(", ")}): ` +
        "a newer version has migrated it. Run that version, or a later one, against this database.",
    );
    this.name = "NewerDatabaseError";
    this.unknownMigrations = unknownMigrations;
  }
}

/**
 * Brings the database to this version's schema by running the migrations it has not recorded.
 * `migrations` is this version's list; tests of the mechanism pass lists of their own.
 */
export async function migrate(sql: SqlClient, migrations: readonly Migration[] = allMigrations): Promise<void> {
  await sql.transaction(async (tx) => {
    // Held until the transaction ends, on the one connection that runs everything below.
    await tx.query(`SELECT pg_advisory_xact_lock(${schemaLockKey})`);
    await ensureAppliedMigrationsTable(tx);
    const known = new Set(migrations.map((migration) => migration.name));
    const unknown = (await appliedMigrationNames(tx)).filter((name) => !known.has(name));
    if (unknown.length > 0) throw new NewerDatabaseError(unknown);
    const umzug = new Umzug<SqlStatements>({
      migrations: migrations.map((migration) => ({
        name: migration.name,
        up: ({ context }) => migration.up(context),
      })),
      context: tx,
      storage: appliedMigrations,
      logger: undefined,
    });
    await umzug.up();
  });
}
