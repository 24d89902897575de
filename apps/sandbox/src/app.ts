// The HTTP face of the golden filesystem service.
import type { components } from "@prewarm/api-types/sandbox";
import { requireToken } from "@prewarm/service-kit/bearer-token";
import { metricsRoute } from "@prewarm/service-kit/metrics";
import { observeRequests } from "@prewarm/service-kit/observe-requests";
import { notFoundHandler, problemErrorHandler } from "@prewarm/service-kit/problem";
import { limitBody, MAX_BODY_BYTES, requireJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { buildRoutes } from "./routes/builds/builds.routes.ts";
import { eventRoutes } from "./routes/events/events.routes.ts";
import { goldenRoutes } from "./routes/goldens/goldens.routes.ts";
import { sessionRoutes } from "./routes/sessions/sessions.routes.ts";
import { testSessionRoutes } from "./routes/sessions/test-sessions.routes.ts";
import type { SandboxServices } from "./services.ts";

type DockerAvailability = components["schemas"]["DockerAvailability"];

interface AppOptions {
  /** The bearer token every request but the health check must carry; null or absent asks for none. */
  token?: string | null;
  /** SANDBOX_METRICS_TOKEN: /metrics on this listener for that bearer token; null answers it 404. */
  metricsToken?: string | null;
}

export function createApp(services: SandboxServices, options: AppOptions = {}) {
  const { logger } = services;
  const app = new Hono();
  // The BFF sends the ID of the request it is answering; the access line names it.
  app.use(requestId());
  app.use(observeRequests(logger));
  app.notFound(notFoundHandler);
  app.onError(problemErrorHandler({ error: (message, fields) => logger.error(fields ?? {}, message) }));
  // In this order: who asks, then how much, then what; only then a handler.
  app.route("/metrics", metricsRoute(options.metricsToken ?? null));
  app.use(requireToken(options.token ?? null, ["/v1/health", "/metrics"], "sandbox"));
  app.use(limitBody(MAX_BODY_BYTES));
  app.use(requireJsonBody());
  app.get("/v1/health", (c) => c.json({ status: "ok" as const }));
  app.get("/v1/docker", (c) => c.json(services.daemons.availability() satisfies DockerAvailability));
  app.route("/v1/builds", buildRoutes(services));
  app.route("/v1/goldens", goldenRoutes(services));
  app.route("/v1/sessions", sessionRoutes(services));
  app.route("/v1/test-sessions", testSessionRoutes(services));
  app.route("/v1/events", eventRoutes(services));
  return app;
}
