// Starts the BFF: configuration, store, build monitor, then HTTP.
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { answerClientErrors } from "@prewarm/service-kit/client-errors";
import { serveMetrics } from "@prewarm/service-kit/metrics";
import { closeContents, closeUmask, looserMode } from "@prewarm/service-kit/private-files";
import { shutDownOnSignals } from "@prewarm/service-kit/shutdown";
import { createApp } from "./app.ts";
import { bootstrapOwner } from "./auth/bootstrap-owner.ts";
import { loadSecretKey } from "./auth/secret-box.ts";
import { seedDemoProject } from "./demo/demo-project.ts";
import { parseEnv } from "./env.ts";
import { createLogger } from "./logger.ts";
import { createServices, openDatabase, startServices, stopServices } from "./services.ts";
import { claimDataDir } from "./store/data-dir-lock.ts";

// The store's files hold password, session and token hashes: nobody else's to read.
closeUmask();
const env = parseEnv();
const logger = createLogger(env.logLevel);
await mkdir(env.dataDir, { recursive: true });
const mode = await looserMode(env.dataDir, 0o700);
if (mode) {
  logger.warn(
    { dataDir: env.dataDir, mode },
    "DATA_DIR lets other users in; its files are closed, but make the directory 0700",
  );
}

// PGlite's directory is this process's alone; a PostgreSQL server is shared by design.
const releaseDataDir = env.databaseUrl ? () => {} : claimDataDir(env.dataDir);
const sql = await openDatabase(env);
// PGlite makes its files 0666 whatever the umask (its directories 0700, so nobody else reaches
// them): what it made, and what an earlier version left open, is closed at every start.
await closeContents(env.dataDir);
const webhookSecretKey = await loadSecretKey({ keyBase64: env.webhookSecretKey, dataDir: env.dataDir });
const services = createServices({ ...env, sql, logger, webhookSecretKey });
// Secrets stored in clear by an earlier version are sealed once, here.
const sealed = await services.store.sealWebhookSecrets();
if (sealed > 0) logger.info({ sealed }, "sealed webhook secrets stored in clear");
const bootstrap = await bootstrapOwner(services.auth, env.ownerName, env.publicUrl);
if (env.seedDemo) await seedDemoProject(services.store, services.auth, env.dataDir, logger, env.demoStepSeconds);
await startServices(services);

const server = serve({ fetch: createApp(services).fetch, hostname: env.host, port: env.port }, (info) => {
  if (bootstrap.loginLink) {
    // Printed to the terminal once, for the person who started it; the link works once. Before
    // "listening", so whoever waits for that line has seen the link if there is one.
    process.stdout.write(
      `\n  Made the owner account "${bootstrap.ownerName}". Log in once with this link (valid 24 hours):\n  ${bootstrap.loginLink}\n  Later: npm run admin -- login-link ${bootstrap.ownerName}\n\n`,
    );
  }
  logger.info(
    {
      address: `http://${info.address}:${info.port}`,
      store: env.databaseUrl ? "postgresql" : "pglite",
      sandboxes: services.fleet.all().map((host) => host.label),
    },
    "BFF listening",
  );
});

answerClientErrors(server);
const metricsServer = serveMetrics(env.metrics, (address) => logger.info({ address }, "metrics listening"));

shutDownOnSignals({
  servers: [server as Server, metricsServer as Server | null],
  timeoutMs: env.shutdownTimeoutMs,
  logger,
  // The monitor and the change listener stop first; requests still being answered keep the store.
  stop: () => stopServices(services),
  finish: async () => {
    await services.store.close();
    releaseDataDir();
  },
});
