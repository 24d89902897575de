// The BFF's parts, wired once from its configuration.

import type { AppDeps } from "./deps.ts";
import { BuildMonitor } from "./docker-cache/build-monitor.ts";
import { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import type { BffEnv } from "./env.ts";
import type { Logger } from "./logger.ts";
import { ProjectEvents } from "./project-events.ts";
import { SandboxClient } from "./sandbox/sandbox-client.ts";
import { ProjectStore } from "./store/project-store.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "./store/sql-client.ts";

export interface BffServices extends AppDeps {
  monitor: BuildMonitor;
}

export async function openSqlClient(env: Pick<BffEnv, "databaseUrl" | "dataDir">): Promise<SqlClient> {
  if (env.databaseUrl) return createPostgresClient(env.databaseUrl);
  return createPgliteClient(`${env.dataDir}/pglite`);
}

export function createServices(
  options: { sql: SqlClient; logger: Logger } & Pick<
    BffEnv,
    "sandboxUrl" | "webDist" | "buildTimeoutSeconds" | "reconcileIntervalMs"
  >,
): BffServices {
  const store = new ProjectStore(options.sql);
  const events = new ProjectEvents();
  const sandbox = new SandboxClient(options.sandboxUrl);
  const { logger } = options;
  const orchestrator = new BuildOrchestrator({
    store,
    sandbox,
    events,
    logger,
    buildTimeoutSeconds: options.buildTimeoutSeconds,
  });
  const monitor = new BuildMonitor({ orchestrator, sandbox, logger, reconcileIntervalMs: options.reconcileIntervalMs });
  return { store, events, sandbox, orchestrator, monitor, logger, webDist: options.webDist };
}
