// The BFF's parts, wired once from its configuration.
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";

import { AuthStore } from "./auth/auth-store.ts";
import { LoginThrottle } from "./auth/login-throttle.ts";
import { SecretBox } from "./auth/secret-box.ts";
import type { AppDeps } from "./deps.ts";
import { BuildMonitor } from "./docker-cache/build-monitor.ts";
import { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import { GoldenReplication } from "./docker-cache/golden-replication.ts";
import { projectSandboxes } from "./docker-cache/project-sandboxes.ts";
import type { BffEnv } from "./env.ts";
import type { Logger } from "./logger.ts";
import { watchSandboxReachability } from "./metrics.ts";
import { ProjectAnnouncements } from "./project-announcements.ts";
import { Fleet } from "./sandbox/fleet.ts";
import { CacheTransitions } from "./store/cache-transitions.ts";
import { goldensChannel, HostGoldens } from "./store/host-goldens.ts";
import { migrate } from "./store/migrate.ts";
import { Placements } from "./store/placements.ts";
import { projectChannel } from "./store/project-rows.ts";
import { ProjectStore } from "./store/project-store.ts";
import { defaultRunUserRanges, RunUsers } from "./store/run-users.ts";
import { SandboxHosts } from "./store/sandbox-hosts.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "./store/sql-client.ts";

export interface BffServices extends AppDeps {
  transitions: CacheTransitions;
  monitor: BuildMonitor;
  /** SANDBOX_URL's host, registered at start; null when SANDBOX_URL is empty. */
  environmentHost: { label: string; url: string; token: string | null } | null;
}

/** Registers SANDBOX_URL's host, reads the fleet, and starts listening and monitoring. */
export async function startServices(services: BffServices, options: { monitor?: boolean } = {}): Promise<void> {
  await services.events.start();
  await services.sandboxViews.start();
  await services.sandboxHosts.registerEnvironmentHost(services.environmentHost);
  await services.fleet.start();
  const hosts = services.fleet.all();
  // Builds sent before there was a fleet ran on SANDBOX_URL's host.
  if (hosts.length === 1 && hosts[0]?.from_environment) await services.placements.adoptUnplacedBuilds(hosts[0].id);
  if (options.monitor !== false) services.monitor.start();
}

export async function stopServices(services: BffServices): Promise<void> {
  await services.monitor.stop();
  await services.fleet.stop();
  await services.events.stop();
  await services.sandboxViews.stop();
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
      Pick<
        BffEnv,
        "dispatchGraceMs" | "sandboxToken" | "sandboxLabel" | "allowedOrigins" | "publicUrl" | "metrics" | "runUsers"
      >
    > & {
      /** Seals webhook secrets and hosts' tokens at rest (loadSecretKey); a key of this process's own when absent. */
      webhookSecretKey?: Buffer;
    },
): BffServices {
  const defaults = { buildTimeoutSeconds: options.buildTimeoutSeconds };
  const box = new SecretBox(options.webhookSecretKey ?? randomBytes(32));
  const store = new ProjectStore(options.sql, defaults, box);
  const transitions = new CacheTransitions(options.sql, store, defaults);
  const events = new ProjectAnnouncements(options.sql, [projectChannel], (id) => store.getProject(id));
  const { logger } = options;
  const sandboxHosts = new SandboxHosts(options.sql, box);
  const fleet = new Fleet({ registry: sandboxHosts, sql: options.sql, logger });
  const placements = new Placements(options.sql);
  const goldens = new HostGoldens(options.sql);
  const replication = new GoldenReplication({ fleet, goldens, logger });
  // What a project's users see of its cache on the hosts changes with a host's golden, the
  // project (how far behind main each generation is) and the fleet.
  const sandboxViews = new ProjectAnnouncements(options.sql, [goldensChannel, projectChannel], (id) =>
    projectSandboxes({ fleet, goldens }, id),
  );
  fleet.onChange(() => sandboxViews.refreshAll());
  const runUsers = new RunUsers(options.sql, options.runUsers ?? defaultRunUserRanges);
  const orchestrator = new BuildOrchestrator({
    store,
    transitions,
    fleet,
    placements,
    goldens,
    replication,
    runUsers,
    logger,
    dispatchGraceMs: options.dispatchGraceMs,
  });
  watchSandboxReachability(() => fleet.status().reachable);
  const monitor = new BuildMonitor({
    orchestrator,
    replication,
    fleet,
    logger,
    reconcileIntervalMs: options.reconcileIntervalMs,
  });
  return {
    store,
    transitions,
    auth: new AuthStore(options.sql),
    loginThrottle: new LoginThrottle(options.sql),
    events,
    sandboxViews,
    fleet,
    sandboxHosts,
    placements,
    goldens,
    replication,
    environmentHost:
      options.sandboxUrl === null
        ? null
        : { label: options.sandboxLabel ?? "default", url: options.sandboxUrl, token: options.sandboxToken ?? null },
    runUsers,
    orchestrator,
    monitor,
    logger,
    webDist: options.webDist,
    allowedOrigins: [...(options.publicUrl ? [options.publicUrl] : []), ...(options.allowedOrigins ?? [])],
    secureCookies: options.publicUrl?.startsWith("https:") ?? false,
    metricsToken: options.metrics?.token ?? null,
  };
}
