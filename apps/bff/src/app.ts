// The BFF's HTTP app: the API under /api/v1 and, when built, the web app itself.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import { notFoundHandler, problemErrorHandler } from "@prewarm/service-kit/problem";
import { requestLog } from "@prewarm/service-kit/request-log";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { AppDeps } from "./deps.ts";
import { dockerCacheRoutes } from "./routes/docker-cache/docker-cache.routes.ts";
import { projectRoutes } from "./routes/projects/projects.routes.ts";
import { webhookRoutes, webhookSecretRoutes } from "./routes/webhooks/webhooks.routes.ts";

export function createApp(deps: AppDeps) {
  const { logger } = deps;
  const app = new Hono();
  app.use(requestId());
  app.use(requestLog(logger));
  app.onError(problemErrorHandler({ error: (message, fields) => logger.error(fields ?? {}, message) }));

  const api = new Hono();
  api.get("/health", (c) => c.json({ status: "ok" as const }));
  api.route("/projects", projectRoutes(deps));
  api.route("/projects", dockerCacheRoutes(deps));
  api.route("/projects", webhookSecretRoutes(deps));
  api.route("/webhooks", webhookRoutes(deps));
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
