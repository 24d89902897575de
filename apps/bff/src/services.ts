// The BFF's parts, wired once from its configuration.
import { mkdir } from "node:fs/promises";

import { AuthStore } from "./auth/auth-store.ts";
import { LoginThrottle } from "./auth/login-throttle.ts";
import { SecretBox } from "./auth/secret-box.ts";
import type { AppDeps } from "./deps.ts";
import { BuildMonitor } from "./docker-cache/build-monitor.ts";
import { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import type { BffEnv } from "./env.ts";
import type { Logger } from "./logger.ts";
import { watchSandboxReachability } from "./metrics.ts";
import { ProjectEvents } from "./project-events.ts";
import { SandboxClient } from "./sandbox/sandbox-client.ts";
import { SandboxHealth } from "./sandbox/sandbox-health.ts";
import { CacheTransitions } from "./store/cache-transitions.ts";
import { migrate } from "./store/migrate.ts";
import { ProjectStore } from "./store/project-store.ts";
import { defaultRunUserRanges, RunUsers } from "./store/run-users.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "./store/sql-client.ts";

export interface BffServices extends AppDeps {
  transitions: CacheTransitions;
  monitor: BuildMonitor;
}

/** Prepares the database and starts listening and monitoring. */
export async function startServices(services: BffServices): Promise<void> {
  await services.events.start();
  services.monitor.start();
}

export async function stopServices(services: BffServices): Promise<void> {
  await services.monitor.stop();
  await services.events.stop();
}

/** The BFF's database, brought to this version's schema: the one place a database is opened. */
export async function openDatabase(env: Pick<BffEnv, "databaseUrl" | "dataDir">): Promise<SqlClient> {
  let sql: SqlClient;
  if (env.databaseUrl) {
    sql = createPostgresClient(env.databaseUrl);
  } else {
    await mkdir(env.dataDir, { recursive: true });
    sql = await createPgliteClient(`${env.dataDir}/pglite`);
  }
  try {
    await migrate(sql);
  } catch (error) {
    await sql.close();
    throw error;
  }
  return sql;
}

export function createServices(
  options: { sql: SqlClient; logger: Logger } & Pick<
    BffEnv,
    "sandboxUrl" | "webDist" | "buildTimeoutSeconds" | "reconcileIntervalMs"
  > &
    Partial<
      Pick<BffEnv, "dispatchGraceMs" | "sandboxToken" | "allowedOrigins" | "publicUrl" | "metrics" | "runUsers">
    > & {
      /** Seals webhook secrets at rest (loadSecretKey); a key of this process's own when absent. */
      webhookSecretKey?: Buffer;
    },
): BffServices {
  const defaults = { buildTimeoutSeconds: options.buildTimeoutSeconds };
  const store = new ProjectStore(
    options.sql,
    defaults,
    options.webhookSecretKey ? new SecretBox(options.webhookSecretKey) : undefined,
  );
  const transitions = new CacheTransitions(options.sql, store, defaults);
  const events = new ProjectEvents(store, options.sql);
  const sandbox = new SandboxClient(options.sandboxUrl, options.sandboxToken ?? null);
  const { logger } = options;
  const runUsers = new RunUsers(options.sql, options.runUsers ?? defaultRunUserRanges);
  const orchestrator = new BuildOrchestrator({
    store,
    transitions,
    sandbox,
    runUsers,
    logger,
    dispatchGraceMs: options.dispatchGraceMs,
  });
  const sandboxHealth = new SandboxHealth();
  watchSandboxReachability(() => sandboxHealth.status().reachable);
  const monitor = new BuildMonitor({
    orchestrator,
    sandbox,
    logger,
    reconcileIntervalMs: options.reconcileIntervalMs,
    health: sandboxHealth,
  });
  return {
    store,
    transitions,
    auth: new AuthStore(options.sql),
    loginThrottle: new LoginThrottle(options.sql),
    events,
    sandbox,
    runUsers,
    sandboxHealth,
    orchestrator,
    monitor,
    logger,
    webDist: options.webDist,
    allowedOrigins: [...(options.publicUrl ? [options.publicUrl] : []), ...(options.allowedOrigins ?? [])],
    secureCookies: options.publicUrl?.startsWith("https:") ?? false,
    metricsToken: options.metrics?.token ?? null,
  };
}
