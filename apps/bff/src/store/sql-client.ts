// The store speaks one PostgreSQL dialect through this narrow interface, so the same SQL runs on
// embedded PGlite (the default) and on a PostgreSQL server (DATABASE_URL), and LISTEN/NOTIFY
// carries changes between BFF processes on either.
import { PGlite, type Transaction } from "@electric-sql/pglite";
import pg from "pg";

export interface SqlClient extends SqlStatements {
  /**
   * Runs `work` in one transaction on one connection, committed when `work` resolves and rolled
   * back when it throws; for work that needs a lock held or a set of changes made all at once.
   */
  transaction<T>(work: (tx: SqlStatements) => Promise<T>): Promise<T>;
  /** Calls `handler` with the payload of every NOTIFY on `channel`; returns how to stop. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** What a client and a transaction both run. */
export interface SqlStatements {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters. */
  exec(script: string): Promise<void>;
}

/** PGlite in `dataDir`, or in memory when it is null. */
export async function createPgliteClient(dataDir: string | null): Promise<SqlClient> {
  const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  return {
    ...pgliteStatements(db),
    // PGlite has one connection; its transaction keeps every other statement waiting until it ends.
    transaction: (work) => db.transaction((tx) => work(pgliteStatements(tx))),
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
    ...pgStatements(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await work(pgStatements(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        // A connection that cannot roll back is not handed to the next caller.
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async listen(channel: string, handler: (payload: string) => void) {
      return listenWithReconnect(connectionString, channel, handler);
    },
    async close() {
      await pool.end();
    },
  };
}

function pgliteStatements(db: Pick<Transaction, "query" | "exec">): SqlStatements {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await db.query<T>(text, params)).rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
  };
}

function pgStatements(db: pg.Pool | pg.PoolClient): SqlStatements {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await db.query(text, params)).rows as T[];
    },
    async exec(script: string) {
      await db.query(script);
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
