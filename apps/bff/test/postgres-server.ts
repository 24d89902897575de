// Vitest global setup: a throwaway PostgreSQL server, so the store's tests run against a real
// server as well as PGlite. TEST_DATABASE_URL points at an existing server instead. Without
// either, the server tests are skipped with a message, unless REQUIRE_POSTGRES=1 (as in CI).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@prewarm/test-kit/processes";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser connection to a PostgreSQL server for tests, or null when there is none. */
    postgresAdminUrl: string | null;
    postgresSkipReason: string | null;
  }
}

const pgBin = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide("postgresAdminUrl", process.env.TEST_DATABASE_URL);
    project.provide("postgresSkipReason", null);
    return;
  }
  if (!existsSync(path.join(pgBin, "initdb"))) {
    const reason = `no PostgreSQL server binaries in ${pgBin} and no TEST_DATABASE_URL`;
    if (process.env.REQUIRE_POSTGRES === "1") throw new Error(`PostgreSQL is required: ${reason}`);
    console.warn(`[store tests] skipping the PostgreSQL server runs: ${reason}`);
    project.provide("postgresAdminUrl", null);
    project.provide("postgresSkipReason", reason);
    return;
  }

  const dir = mkdtempSync(path.join(tmpdir(), "prewarm-pg-"));
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: run it as the postgres user then.
  const run = (command: string, args: string[]) => {
    const full = path.join(pgBin, command);
    const result = asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", full, ...args], { encoding: "utf8" })
      : spawnSync(full, args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  else chownSync(dir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  run("pg_ctl", [
    "-D",
    dataDir,
    "-l",
    path.join(dir, "server.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "-w",
    "start",
  ]);
  project.provide("postgresAdminUrl", `postgres://postgres@127.0.0.1:${port}/postgres`);
  project.provide("postgresSkipReason", null);

  return () => {
    try {
      run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
