// Starts the BFF: configuration, store, build monitor, then HTTP.
import { mkdir } from "node:fs/promises";
import { serve } from "@hono/node-server";
import { createApp } from "./app.ts";
import { seedDemoProject } from "./demo/demo-project.ts";
import { parseEnv } from "./env.ts";
import { createLogger } from "./logger.ts";
import { createServices, openSqlClient, startServices, stopServices } from "./services.ts";

const env = parseEnv();
const logger = createLogger(env.logLevel);
await mkdir(env.dataDir, { recursive: true });
const sql = await openSqlClient(env);
const services = createServices({ ...env, sql, logger });
await services.store.migrate();
if (env.seedDemo) await seedDemoProject(services.store, env.dataDir, logger);
await startServices(services);

const server = serve({ fetch: createApp(services).fetch, hostname: env.host, port: env.port }, (info) => {
  logger.info(
    {
      address: `http://${info.address}:${info.port}`,
      store: env.databaseUrl ? "postgresql" : "pglite",
      sandbox: env.sandboxUrl,
    },
    "BFF listening",
  );
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close();
    void stopServices(services)
      .then(() => services.store.close())
      .finally(() => process.exit(0));
  });
}
