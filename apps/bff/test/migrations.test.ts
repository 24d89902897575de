// Versioned migrations on both backends: a database made before migrations were numbered keeps
// every row and value, is recorded at 0001 and serves the app; each migration runs once and in
// order, also when BFF processes start together; one that fails leaves no trace; a database
// migrated by a newer version is refused and left untouched.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { hashSecret } from "../src/auth/credentials.ts";
import { createLogger } from "../src/logger.ts";
import { createServices, openDatabase } from "../src/services.ts";
import { migrate } from "../src/store/migrate.ts";
import { allMigrations, type Migration } from "../src/store/migrations/all-migrations.ts";

const migrationNames = allMigrations.map((migration) => migration.name);

import { createPgliteClient, createPostgresClient, type SqlClient } from "../src/store/sql-client.ts";
import { freshDatabase, type StoreBackend, storeBackends } from "./helpers.ts";

const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

const tables = [
  "projects",
  "builds",
  "webhook_deliveries",
  "users",
  "sessions",
  "api_tokens",
  "login_links",
  "project_members",
  "script_versions",
  "login_failures",
];

// A row in every table of the schema before migrations, with every column set.
const everyTableFilled = `
INSERT INTO users (id, name, password_hash, created_at) VALUES
  ('usr_owner', 'owner', 'scrypt$owner', '2024-01-02T03:04:05.123456Z'),
  ('usr_member', 'member', 'scrypt$member', '2024-01-03T03:04:05Z');
INSERT INTO projects (id, name, repository_url, default_branch, startup_script, auto_warm_docker_cache,
  main_commit, cache_status, cache_size_bytes, cache_last_build_at, cache_last_ready_at, cache_build_id,
  cache_error, created_at, updated_at, revision, build_timeout_seconds, pause_after_failures, webhook_secret,
  queued_trigger, queued_commit, queued_at, main_merges, golden_commit, golden_merges, consecutive_failures,
  paused_at, evicted_at, owner_id)
VALUES ('prj_shop', 'Shop', 'https://git.example/shop.git', 'trunk', E'#!/bin/bash\\ndocker compose build\\n', true,
  'c0ffee', 'building', 5368709120, '2024-02-01T10:00:00Z', '2024-01-31T10:00:00Z', 'bld_running',
  'Startup script exited with code 2', '2024-01-04T00:00:00Z', '2024-02-01T10:00:00.5Z', 7, 600, 5, 'sealed:abc',
  'merge', 'beef', '2024-02-01T10:05:00Z', 12, 'f00d', 9, 2, '2024-02-01T11:00:00Z', '2024-02-02T00:00:00Z',
  'usr_owner');
INSERT INTO builds (id, project_id, trigger, commit_sha, status, started_at, finished_at, error, size_bytes,
  dispatched_at, merges, timeout_seconds, docker_version, docker_storage_driver) VALUES
  ('bld_failed', 'prj_shop', 'manual', 'f00d', 'failed', '2024-01-31T09:00:00Z', '2024-01-31T09:30:00Z',
   'Startup script exited with code 2', 42, '2024-01-31T09:00:01Z', 9, 1800, '27.3.1', 'overlay2'),
  ('bld_running', 'prj_shop', 'merge', 'c0ffee', 'running', '2024-02-01T10:00:00Z', '2024-02-01T10:00:00Z',
   'not yet', 0, '2024-02-01T10:00:02Z', 12, 600, '27.3.1', 'vfs');
INSERT INTO webhook_deliveries (delivery_id, project_id, received_at) VALUES ('dlv_1', 'prj_shop', '2024-02-01T09:59:59Z');
INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
  VALUES ('${hashSecret("session-token")}', 'usr_owner', '2024-02-01T00:00:00Z', '2999-01-01T00:00:00Z');
INSERT INTO api_tokens (token_hash, user_id, label, created_at, last_used_at)
  VALUES ('${hashSecret("api-token")}', 'usr_member', 'ci', '2024-02-01T00:00:00Z', '2024-02-01T01:00:00Z');
INSERT INTO login_links (token_hash, user_id, expires_at)
  VALUES ('${hashSecret("login-link")}', 'usr_member', '2999-01-01T00:00:00Z');
INSERT INTO project_members (project_id, user_id, added_at) VALUES ('prj_shop', 'usr_member', '2024-01-05T00:00:00Z');
INSERT INTO script_versions (project_id, startup_script, saved_by, saved_at) VALUES
  ('prj_shop', 'make images', 'usr_owner', '2024-01-04T00:00:00Z'),
  ('prj_shop', E'#!/bin/bash\\ndocker compose build\\n', 'usr_member', '2024-01-06T00:00:00Z');
INSERT INTO login_failures (key, failed_at_ms) VALUES ('user:owner', 1706745600000), ('address:192.0.2.1', 1706745600001);
`;

/** Every row of every table, as text, in a fixed order. */
/**
 * The dump restricted to the columns `before` had: later migrations add columns (empty on rows
 * that were there), and every value that was there must be kept.
 */
function keptOf(after: Record<string, string[]>, before: Record<string, string[]>): Record<string, string[]> {
  const kept: Record<string, string[]> = {};
  for (const [table, rows] of Object.entries(after)) {
    kept[table] = rows.map((row, i) => {
      const columns = Object.keys(JSON.parse(before[table]?.[i] ?? "{}"));
      const values = JSON.parse(row) as Record<string, unknown>;
      return JSON.stringify(Object.fromEntries(columns.map((column) => [column, values[column]])));
    });
  }
  return kept;
}

async function dump(sql: SqlClient): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const table of tables) {
    const rows = await sql.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
    result[table] = rows.map((r) => r.row);
  }
  return result;
}

/** The database has the very shape a fresh database migrated by this version has. */
async function expectShapeOfFresh(sql: SqlClient, backend: StoreBackend): Promise<void> {
  const fresh = await backend.open();
  try {
    await migrate(fresh.sql);
    expect(await shape(sql)).toEqual(await shape(fresh.sql));
  } finally {
    await fresh.drop();
  }
}

/** Columns, constraints and indexes of the public schema. */
async function shape(sql: SqlClient) {
  return {
    columns: await sql.query(
      `SELECT table_name, column_name, data_type, column_default, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' ORDER BY table_name, column_name`,
    ),
    constraints: await sql.query(
      `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
    ),
    indexes: await sql.query(
      "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    ),
  };
}

async function recorded(sql: SqlClient): Promise<string[]> {
  const rows = await sql.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name");
  return rows.map((row) => row.name);
}

async function exists(sql: SqlClient, table: string): Promise<boolean> {
  const rows = await sql.query<{ found: string | null }>("SELECT to_regclass($1)::text AS found", [table]);
  return rows[0]?.found !== null;
}

/** A migration of a test's own that fails if it ever runs twice or before the one it follows. */
const trailStep = (name: string, first: boolean): Migration => ({
  name,
  up: (sql) =>
    sql.exec(`${first ? "CREATE TABLE trail (n serial PRIMARY KEY, step text NOT NULL UNIQUE);" : ""}
              INSERT INTO trail (step) VALUES ('${name}');`),
});

async function trail(sql: SqlClient): Promise<string[]> {
  return (await sql.query<{ step: string }>("SELECT step FROM trail ORDER BY n")).map((row) => row.step);
}

it("lists every migration file, in the order of their numbers, under its file's name", async () => {
  const files = (await readdir(new URL("../src/store/migrations/", import.meta.url)))
    .filter((file) => /^\d{4}-.*\.ts$/.test(file))
    .sort();
  expect(allMigrations.map((migration) => `${migration.name}.ts`)).toEqual(files);
});

for (const backend of storeBackends()) {
  describe.skipIf(backend.skip !== null)(`migrations on ${backend.name}`, () => {
    let sql: SqlClient;
    let drop: () => Promise<void>;

    beforeEach(async () => {
      ({ sql, drop } = await backend.open());
    });
    afterEach(async () => {
      await drop();
    });

    it("takes a database made before migrations as 0001, every row and value kept, and the app reads it", async () => {
      await sql.exec(await fixture("schema-before-migrations.sql"));
      await sql.exec(everyTableFilled);
      const before = await dump(sql);
      for (const table of tables) {
        expect(before[table], table).not.toEqual([]);
        for (const row of before[table] ?? []) {
          const unset = Object.entries(JSON.parse(row)).filter(([, value]) => value === null);
          expect(unset, `${table}: ${row}`).toEqual([]);
        }
      }

      await migrate(sql);
      const after = await dump(sql);
      expect(keptOf(after, before)).toEqual(keptOf(before, before));
      expect(await recorded(sql)).toEqual(migrationNames);

      await expectShapeOfFresh(sql, backend);

      const services = createServices({
        sql,
        logger: createLogger("silent"),
        sandboxUrl: "http://sandbox.test",
        webDist: null,
        buildTimeoutSeconds: 1800,
        reconcileIntervalMs: 60_000,
      });
      expect(await services.store.getProject("prj_shop")).toEqual({
        id: "prj_shop",
        name: "Shop",
        repository_url: "https://git.example/shop.git",
        default_branch: "trunk",
        startup_script: "#!/bin/bash\ndocker compose build\n",
        main_commit: "c0ffee",
        revision: 7,
        metadata: {
          auto_warm_docker_cache: true,
          docker_cache_build_timeout_seconds: 600,
          docker_cache_pause_after_failures: 5,
          webhook_configured: true,
          docker_cache_state: {
            status: "building",
            size_bytes: 5368709120,
            last_build_at: "2024-02-01T10:00:00.000Z",
            last_ready_at: "2024-01-31T10:00:00.000Z",
            build_id: "bld_running",
            error: "Startup script exited with code 2",
            queued: { trigger: "merge", commit_sha: "beef", queued_at: "2024-02-01T10:05:00.000Z" },
            golden_commit: "f00d",
            merges_behind: 3,
            consecutive_failures: 2,
            paused: true,
            evicted_at: "2024-02-02T00:00:00.000Z",
          },
        },
      });
      // Their daemons ran before daemons were rootless: as root.
      expect(
        (await services.store.listBuilds("prj_shop", 10)).map((build) => ({
          id: build.id,
          engine: build.docker_engine,
        })),
      ).toEqual([
        { id: "bld_running", engine: { version: "27.3.1", storage_driver: "vfs", rootless: false } },
        { id: "bld_failed", engine: { version: "27.3.1", storage_driver: "overlay2", rootless: false } },
      ]);
      expect((await services.store.listProjects("usr_member")).map((project) => project.id)).toEqual(["prj_shop"]);
      expect(await services.auth.userBySession("session-token")).toEqual({ id: "usr_owner", name: "owner" });
      expect(await services.auth.roleIn("prj_shop", "usr_member")).toBe("member");
      // The script history's ids go on from where they were.
      const change = await services.store.updateSettings("prj_shop", { startup_script: "make all" }, "usr_owner");
      expect(change.kind).toBe("updated");
      expect((await services.store.scriptVersions("prj_shop")).map((version) => version.id)).toEqual([3, 2, 1]);
    });

    it("gives a database of the BFF's first version every column of 0001, its rows kept", async () => {
      await sql.exec(await fixture("schema-first-version.sql"));
      await sql.exec(`
        INSERT INTO projects (id, name, startup_script, cache_status, cache_build_id) VALUES
          ('prj_old', 'Old', 'make', 'ready', 'bld_old');
        INSERT INTO builds (id, project_id, trigger, status, started_at, finished_at, size_bytes)
          VALUES ('bld_old', 'prj_old', 'enable', 'succeeded', '2023-06-01T00:00:00Z', '2023-06-01T00:10:00Z', 7);`);
      const before = {
        projects: await sql.query("SELECT * FROM projects"),
        builds: await sql.query("SELECT * FROM builds"),
      };

      await migrate(sql);
      expect(await sql.query("SELECT * FROM projects")).toMatchObject(before.projects);
      expect(await sql.query("SELECT * FROM builds")).toMatchObject(before.builds);
      await expectShapeOfFresh(sql, backend);
    });

    it("runs each migration once: a second start changes nothing", async () => {
      await migrate(sql);
      const first = { shape: await shape(sql), applied: await sql.query("SELECT * FROM schema_migrations") };
      await migrate(sql);
      expect({ shape: await shape(sql), applied: await sql.query("SELECT * FROM schema_migrations") }).toEqual(first);
      expect(await recorded(sql)).toEqual(allMigrations.map((migration) => migration.name));
    });

    it("runs later migrations once each, in the order of the list", async () => {
      const second = trailStep("9001-starts-a-trail", true);
      const third = trailStep("9002-extends-the-trail", false);
      await migrate(sql, [...allMigrations, second]);
      await migrate(sql, [...allMigrations, second, third]);
      await migrate(sql, [...allMigrations, second, third]);
      expect(await trail(sql)).toEqual(["9001-starts-a-trail", "9002-extends-the-trail"]);
      expect(await recorded(sql)).toEqual([...migrationNames, "9001-starts-a-trail", "9002-extends-the-trail"]);
    });

    it("runs each migration once when several starts migrate at the same moment", async () => {
      const migrations = [...allMigrations, trailStep("9001-starts-a-trail", true)];
      await Promise.all(Array.from({ length: 4 }, () => migrate(sql, migrations)));
      expect(await trail(sql)).toEqual(["9001-starts-a-trail"]);
      expect(await recorded(sql)).toEqual([...migrationNames, "9001-starts-a-trail"]);
    });

    it("leaves no trace of a run whose migration fails", async () => {
      const failing: Migration = {
        name: "9001-fails-halfway",
        up: async (tx) => {
          await tx.exec("CREATE TABLE half_done (id integer); INSERT INTO half_done VALUES (1);");
          await tx.exec("ALTER TABLE projects DROP COLUMN name; SELECT * FROM no_such_table;");
        },
      };
      // On an empty database, not even the migrations before it stay.
      await expect(migrate(sql, [...allMigrations, failing])).rejects.toThrow(/9001-fails-halfway/);
      expect(await exists(sql, "projects")).toBe(false);
      expect(await exists(sql, "schema_migrations")).toBe(false);

      await migrate(sql);
      await sql.exec(everyTableFilled);
      const before = { rows: await dump(sql), shape: await shape(sql) };
      await expect(migrate(sql, [...allMigrations, failing])).rejects.toThrow(/9001-fails-halfway/);
      expect({ rows: await dump(sql), shape: await shape(sql) }).toEqual(before);
      expect(await exists(sql, "half_done")).toBe(false);
      expect(await recorded(sql)).toEqual(migrationNames);
    });

    it("refuses a database that a newer version migrated, naming what it does not know, and changes nothing", async () => {
      await migrate(sql);
      await sql.exec(everyTableFilled);
      await sql.exec("INSERT INTO schema_migrations (name) VALUES ('9999-from-the-future')");
      const before = { rows: await dump(sql), shape: await shape(sql), applied: await recorded(sql) };

      await expect(migrate(sql)).rejects.toThrow(
        /does not know \(9999-from-the-future\).*newer version.*Run that version, or a later one/,
      );
      expect({ rows: await dump(sql), shape: await shape(sql), applied: await recorded(sql) }).toEqual(before);
    });
  });
}

describe("a start on a database that a newer version migrated", () => {
  const adminUrl = inject("postgresAdminUrl");

  it("fails with the names of the unknown migrations (PGlite)", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "prewarm-migrations-"));
    try {
      const sql = await createPgliteClient(path.join(dataDir, "pglite"));
      await migrate(sql);
      await sql.exec("INSERT INTO schema_migrations (name) VALUES ('9999-from-the-future')");
      await sql.close();
      await expect(openDatabase({ databaseUrl: null, dataDir })).rejects.toThrow(/9999-from-the-future/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!adminUrl)("fails with the names of the unknown migrations (PostgreSQL server)", async () => {
    const database = await freshDatabase(adminUrl ?? "");
    try {
      const sql = createPostgresClient(database.url);
      await migrate(sql);
      await sql.exec("INSERT INTO schema_migrations (name) VALUES ('9999-from-the-future')");
      await sql.close();
      await expect(openDatabase({ databaseUrl: database.url, dataDir: "" })).rejects.toThrow(/9999-from-the-future/);
    } finally {
      await database.drop();
    }
  });
});

describe.skipIf(!inject("postgresAdminUrl"))("BFF processes starting together on one PostgreSQL server", () => {
  it("all start, and each migration runs once", async () => {
    const database = await freshDatabase(inject("postgresAdminUrl") ?? "");
    const clients = Array.from({ length: 6 }, () => createPostgresClient(database.url));
    try {
      const migrations = [...allMigrations, trailStep("9001-starts-a-trail", true)];
      const results = await Promise.allSettled(clients.map((client) => migrate(client, migrations)));
      expect(results.map((result) => result.status)).toEqual(clients.map(() => "fulfilled"));
      const sql = clients[0] as SqlClient;
      expect(await trail(sql)).toEqual(["9001-starts-a-trail"]);
      expect(await recorded(sql)).toEqual([...migrationNames, "9001-starts-a-trail"]);
    } finally {
      for (const client of clients) await client.close();
      await database.drop();
    }
  });
});
