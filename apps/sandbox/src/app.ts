// The HTTP face of the golden filesystem service.
import { notFoundHandler, problemErrorHandler } from "@prewarm/service-kit/problem";
import { requestLog } from "@prewarm/service-kit/request-log";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { buildRoutes } from "./routes/builds/builds.routes.ts";
import { eventRoutes } from "./routes/events/events.routes.ts";
import { goldenRoutes } from "./routes/goldens/goldens.routes.ts";
import { sessionRoutes } from "./routes/sessions/sessions.routes.ts";
import type { SandboxServices } from "./services.ts";

export function createApp(services: SandboxServices) {
  const { logger } = services;
  const app = new Hono();
  app.use(requestId());
  app.use(requestLog(logger));
  app.notFound(notFoundHandler);
  app.onError(problemErrorHandler({ error: (message, fields) => logger.error(fields ?? {}, message) }));
  app.get("/v1/health", (c) => c.json({ status: "ok" as const }));
  app.route("/v1/builds", buildRoutes(services));
  app.route("/v1/goldens", goldenRoutes(services));
  app.route("/v1/sessions", sessionRoutes(services));
  app.route("/v1/events", eventRoutes(services));
  return app;
}
