// The store speaks one PostgreSQL dialect through this narrow interface, so the same SQL runs on
// embedded PGlite (the default) and on a PostgreSQL server (DATABASE_URL), and LISTEN/NOTIFY
// carries changes between BFF processes on either.
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface SqlClient {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters. */
  exec(script: string): Promise<void>;
  /** Calls `handler` with the payload of every NOTIFY on `channel`; returns how to stop. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
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
    async listen(channel: string, handler: (payload: string) => void) {
      const stop = await db.listen(channel, handler);
      return async () => {
        if (!db.closed) await stop();
      };
    },
    async close() {
      await db.close();
    },
  };
}

export function createPostgresClient(connectionString: string): SqlClient {
  const pool = new pg.Pool({ connectionString, max: 10 });
  // Errors of idle pool connections (a restarted server) surface on the next query instead.
  pool.on("error", () => undefined);
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async listen(channel: string, handler: (payload: string) => void) {
      return listenWithReconnect(connectionString, channel, handler);
    },
    async close() {
      await pool.end();
    },
  };
}

/** LISTEN needs a connection of its own, kept for as long as we listen, and re-made if lost. */
async function listenWithReconnect(
  connectionString: string,
  channel: string,
  handler: (payload: string) => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | null = null;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString });
    next.on("notification", (message) => {
      if (message.channel === channel) handler(message.payload ?? "");
    });
    next.on("error", () => {
      if (client === next) client = null;
      void next.end().catch(() => undefined);
      void reconnect();
    });
    await next.connect();
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    client = next;
    // Whatever changed while nobody listened is told as a change of everything.
    handler("*");
  };
  const reconnect = async (): Promise<void> => {
    while (!stopped && client === null) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await connect().catch(() => undefined);
    }
  };
  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => undefined);
  };
}
