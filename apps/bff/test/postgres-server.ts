// Vitest global setup: a throwaway PostgreSQL server, so the store's tests run against a real
// server as well as PGlite. TEST_DATABASE_URL points at an existing server instead. Without
// either, the server tests are skipped with a message, unless REQUIRE_POSTGRES=1 (as in CI).
import { postgresUnavailable, startPostgresServer } from "@prewarm/test-kit/postgres-server";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser connection to a PostgreSQL server for tests, or null when there is none. */
    postgresAdminUrl: string | null;
    postgresSkipReason: string | null;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide("postgresAdminUrl", process.env.TEST_DATABASE_URL);
    project.provide("postgresSkipReason", null);
    return;
  }
  const unavailable = postgresUnavailable();
  if (unavailable) {
    const reason = `${unavailable} and no TEST_DATABASE_URL`;
    if (process.env.REQUIRE_POSTGRES === "1") throw new Error(`PostgreSQL is required: ${reason}`);
    console.warn(`[store tests] skipping the PostgreSQL server runs: ${reason}`);
    project.provide("postgresAdminUrl", null);
    project.provide("postgresSkipReason", reason);
    return;
  }

  const server = await startPostgresServer();
  project.provide("postgresAdminUrl", server.url);
  project.provide("postgresSkipReason", null);
  return () => server.stop();
}
