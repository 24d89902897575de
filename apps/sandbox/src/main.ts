// The golden filesystem service's start: configuration, recovery of the root, then HTTP, until a
// signal stops it. `index.ts` runs it; a test may load it first and start it later.
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { serve } from "@hono/node-server";
import { answerClientErrors } from "@prewarm/service-kit/client-errors";
import { serveMetrics } from "@prewarm/service-kit/metrics";
import { closeUmask, looserMode } from "@prewarm/service-kit/private-files";
import { shutDownOnSignals } from "@prewarm/service-kit/shutdown";
import { createApp } from "./app.ts";
import { findEngine } from "./docker/docker-daemon.ts";
import { parseEnv } from "./env.ts";
import { supportsReflink } from "./fs/reflink.ts";
import { createLogger } from "./logger.ts";
import { createServices, prepareRoot, stopRuns } from "./services.ts";

/** Starts the service from the environment; resolves once it is started. */
export async function startSandbox(): Promise<void> {
  // Build records and logs are the service's own (0600, directories 0700); startup scripts and
  // daemons keep the umask it was started with, so Docker data has exactly the modes it would have.
  closeUmask();
  const env = parseEnv();
  const logger = createLogger(env.logLevel);
  await mkdir(env.root, { recursive: true });
  // 0711 at most: a later per-project user must pass through the root, never list or write it.
  const mode = await looserMode(env.root, 0o711);
  if (mode) {
    logger.warn({ root: env.root, mode }, "SANDBOX_ROOT lets other users in; make it 0700 (0711 at most)");
  }
  // Spare copies cost only metadata where copies are reflinks; elsewhere each would be a full copy.
  const spareCopies = env.spareCopies === "auto" ? ((await supportsReflink(env.root)) ? 1 : 0) : env.spareCopies;
  const docker = await findEngine(env.docker, env.dockerdArgs, env.rootDaemons);
  if (docker.refuses) logger.error({ reason: docker.reason }, "runs are refused on this sandbox");
  else if (!docker.engine) logger.warn({ reason: docker.reason }, "runs get no Docker daemon");
  else if (docker.engine.mode === "root") logger.warn("runs get root Docker daemons (SANDBOX_ROOT_DAEMONS=allow)");
  if (process.getuid?.() !== 0) {
    logger.warn("the service is not root: every project's runs run as its user, not isolated from each other");
  }
  const services = createServices({
    root: env.root,
    logger,
    stopGraceMs: env.stopGraceMs,
    goldenQuotaBytes: env.goldenQuotaBytes,
    spareCopies,
    docker,
    peerCa: env.peerCa,
    runs: {
      network: env.runNetwork,
      limits: { processes: env.runProcesses, openFiles: env.runOpenFiles },
      diskLimitBytes: env.runDiskLimitBytes,
    },
  });
  await prepareRoot(services);
  const server = serve(
    {
      fetch: createApp(services, { token: env.token, metricsToken: env.metrics.token }).fetch,
      hostname: env.host,
      port: env.port,
      ...(env.tls ? { createServer: createHttpsServer, serverOptions: env.tls } : {}),
    },
    (info) => {
      logger.info(
        {
          root: env.root,
          address: `${env.tls ? "https" : "http"}://${info.address}:${info.port}`,
          requiresToken: env.token !== null,
          docker: docker.engine ? "a daemon per run" : "none",
        },
        "golden filesystem service listening",
      );
    },
  );

  answerClientErrors(server);

  const metricsServer = serveMetrics(env.metrics, (address) => logger.info({ address }, "metrics listening"));

  shutDownOnSignals({
    servers: [server as Server, metricsServer as Server | null],
    timeoutMs: env.shutdownTimeoutMs,
    logger,
    // Runs cut short are reported interrupted at the next start; goldens are never touched half-way.
    stop: () => stopRuns(services),
  });
}
