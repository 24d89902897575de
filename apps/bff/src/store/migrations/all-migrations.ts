// Every migration, in the order it runs; listed rather than found on disk, so tsx, Vitest and
// Node run the same list. A new migration goes at the end with the next number, and one that
// has been released is never edited: databases that recorded it will not run it again.
import type { SqlStatements } from "../sql-client.ts";
import * as initial from "./0001-initial.ts";
import * as projectRunUsers from "./0002-project-run-users.ts";
import * as buildDockerRootless from "./0003-build-docker-rootless.ts";
import * as sandboxFleet from "./0004-sandbox-fleet.ts";
import * as fleetRecords from "./0005-fleet-records.ts";

export interface Migration {
  /** Its file's name without `.ts`, as recorded in schema_migrations once it has run. */
  name: string;
  up: (sql: SqlStatements) => Promise<void>;
}

export const allMigrations: readonly Migration[] = [
  { name: "0001-initial", up: initial.up },
  { name: "0002-project-run-users", up: projectRunUsers.up },
  { name: "0003-build-docker-rootless", up: buildDockerRootless.up },
  { name: "0004-sandbox-fleet", up: sandboxFleet.up },
  { name: "0005-fleet-records", up: fleetRecords.up },
];
