// The BFF's HTTP app: the API under /api/v1 and, when built, the web app itself. Every request
// passes, in this order: its request ID and access line, security headers, body limits and
// JSON-only bodies, authentication (401), the same-origin check of cookie changes (403), and for
// /projects/{id}/... the project access check (404/403), for /operator/... the operator check
// (403). /metrics is apart: the metrics token's.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { components } from "@prewarm/api-types/bff";
import { metricsRoute } from "@prewarm/service-kit/metrics";
import { observeRequests } from "@prewarm/service-kit/observe-requests";
import { notFoundHandler, problemErrorHandler } from "@prewarm/service-kit/problem";
import { requireJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { contextStorage } from "hono/context-storage";
import { requestId } from "hono/request-id";
import { authenticate } from "./auth/authenticate.ts";
import { operatorAccess } from "./auth/operator-access.ts";
import { projectAccess } from "./auth/project-access.ts";
import { sameOriginChanges } from "./auth/same-origin.ts";
import type { AppDeps } from "./deps.ts";
import { bodyLimits, noStore, securityHeaders } from "./http/limits-and-headers.ts";
import { authRoutes } from "./routes/auth/auth.routes.ts";
import { dockerCacheRoutes } from "./routes/docker-cache/docker-cache.routes.ts";
import { memberRoutes } from "./routes/members/members.routes.ts";
import { sandboxHostRoutes } from "./routes/operator/sandbox-hosts.routes.ts";
import { projectRoutes } from "./routes/projects/projects.routes.ts";
import { testSessionRoutes } from "./routes/test-sessions/test-sessions.routes.ts";
import { webhookRoutes, webhookSecretRoutes } from "./routes/webhooks/webhooks.routes.ts";

type Schemas = components["schemas"];

export function createApp(deps: AppDeps) {
  const { logger } = deps;
  const app = new Hono();
  app.use(requestId());
  // Calls to the sandbox made while answering carry this request's ID (sandbox-client.ts).
  app.use(contextStorage());
  app.use(observeRequests(logger));
  app.use(securityHeaders());
  app.onError(problemErrorHandler({ error: (message, fields) => logger.error(fields ?? {}, message) }));
  app.route("/metrics", metricsRoute(deps.metricsToken));

  const api = new Hono();
  api.use(noStore());
  api.use(bodyLimits());
  // Bodies not declared JSON are refused with 415, so no HTML form reaches a handler.
  api.use(requireJsonBody());
  api.use(authenticate(deps.auth));
  api.use(sameOriginChanges(deps.allowedOrigins));
  // Matches the project itself as well as everything under it.
  api.use("/projects/:project_id/*", projectAccess(deps.auth));
  api.use("/operator/*", operatorAccess(deps.auth));
  api.get("/health", (c) => c.json({ status: "ok" as const }));
  api.get("/sandbox", (c) => c.json(deps.fleet.status()));
  api.get("/readyz", async (c) => {
    const database = await deps.store.ping().then(
      () => ({ reachable: true, detail: null }),
      (error: unknown) => ({ reachable: false, detail: `The database did not answer: ${String(error).slice(0, 200)}` }),
    );
    const readiness = {
      status: database.reachable ? "ready" : "not_ready",
      database,
      sandbox: deps.fleet.status(),
    } satisfies Schemas["Readiness"];
    return c.json(readiness, database.reachable ? 200 : 503);
  });
  api.route("/", authRoutes(deps));
  api.route("/projects", projectRoutes(deps));
  api.route("/projects", dockerCacheRoutes(deps));
  api.route("/projects", webhookSecretRoutes(deps));
  api.route("/projects", memberRoutes(deps));
  api.route("/projects", testSessionRoutes(deps));
  api.route("/webhooks", webhookRoutes(deps));
  api.route("/operator", sandboxHostRoutes(deps));
  api.notFound(notFoundHandler);
  app.route("/api/v1", api);
  app.all("/api/*", notFoundHandler);

  if (deps.webDist && existsSync(path.join(deps.webDist, "index.html"))) {
    const indexHtml = readFileSync(path.join(deps.webDist, "index.html"), "utf8");
    app.use("/assets/*", serveStatic({ root: deps.webDist }));
    app.use("/favicon.svg", serveStatic({ root: deps.webDist }));
    // Every other page is the single-page app; it routes on the client.
    app.get("*", (c) => c.html(indexHtml));
  } else {
    app.get("/", (c) =>
      c.text("The web app is not built. Run `npm run build -w @prewarm/web`, or use `npm start`.", 503),
    );
  }
  app.notFound(notFoundHandler);
  return app;
}
