// The store speaks one PostgreSQL dialect through this narrow interface, so the same SQL runs on
// embedded PGlite (the default) and on a PostgreSQL server (DATABASE_URL).
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface SqlClient {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters. */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/** PGlite in `dataDir`, or in memory when it is null. */
export async function createPgliteClient(dataDir: string | null): Promise<SqlClient> {
  const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await db.query<T>(text, params)).rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
    async close() {
      await db.close();
    },
  };
}

export function createPostgresClient(connectionString: string): SqlClient {
  const pool = new pg.Pool({ connectionString, max: 10 });
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async close() {
      await pool.end();
    },
  };
}
