// The BFF's parts, wired once from its configuration.
import { mkdir } from "node:fs/promises";

import { AuthStore } from "./auth/auth-store.ts";
import { LoginThrottle } from "./auth/login-throttle.ts";
import type { AppDeps } from "./deps.ts";
import { BuildMonitor } from "./docker-cache/build-monitor.ts";
import { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import type { BffEnv } from "./env.ts";
import type { Logger } from "./logger.ts";
import { ProjectEvents } from "./project-events.ts";
import { SandboxClient } from "./sandbox/sandbox-client.ts";
import { SandboxHealth } from "./sandbox/sandbox-health.ts";
import { ProjectStore } from "./store/project-store.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "./store/sql-client.ts";

export interface BffServices extends AppDeps {
  monitor: BuildMonitor;
}

/** Prepares the database and starts listening and monitoring. */
export async function startServices(services: BffServices): Promise<void> {
  await services.store.migrate();
  await services.events.start();
  services.monitor.start();
}

export async function stopServices(services: BffServices): Promise<void> {
  await services.monitor.stop();
  await services.events.stop();
}

export async function openSqlClient(env: Pick<BffEnv, "databaseUrl" | "dataDir">): Promise<SqlClient> {
  if (env.databaseUrl) return createPostgresClient(env.databaseUrl);
  await mkdir(env.dataDir, { recursive: true });
  return createPgliteClient(`${env.dataDir}/pglite`);
}

export function createServices(
  options: { sql: SqlClient; logger: Logger } & Pick<
    BffEnv,
    "sandboxUrl" | "webDist" | "buildTimeoutSeconds" | "reconcileIntervalMs"
  > &
    Partial<Pick<BffEnv, "dispatchGraceMs" | "sandboxToken" | "allowedOrigins" | "publicUrl">>,
): BffServices {
  const store = new ProjectStore(options.sql, { buildTimeoutSeconds: options.buildTimeoutSeconds });
  const events = new ProjectEvents(store, options.sql);
  const sandbox = new SandboxClient(options.sandboxUrl, options.sandboxToken ?? null);
  const { logger } = options;
  const orchestrator = new BuildOrchestrator({ store, sandbox, logger, dispatchGraceMs: options.dispatchGraceMs });
  const sandboxHealth = new SandboxHealth();
  const monitor = new BuildMonitor({
    orchestrator,
    sandbox,
    logger,
    reconcileIntervalMs: options.reconcileIntervalMs,
    health: sandboxHealth,
  });
  return {
    store,
    auth: new AuthStore(options.sql),
    loginThrottle: new LoginThrottle(),
    events,
    sandbox,
    sandboxHealth,
    orchestrator,
    monitor,
    logger,
    webDist: options.webDist,
    allowedOrigins: [...(options.publicUrl ? [options.publicUrl] : []), ...(options.allowedOrigins ?? [])],
    secureCookies: options.publicUrl?.startsWith("https:") ?? false,
  };
}
