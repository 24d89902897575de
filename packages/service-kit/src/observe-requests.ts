// One access line per request, and the HTTP metrics, from one measurement. The line names the
// route pattern and the path without its query, never a header or a body, so no secret reaches
// the log; the request ID is the one the caller sent (the BFF forwards its own to the sandbox) or
// a new one, and is sent back in X-Request-Id.
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { httpRequestSeconds, httpRequests } from "./metrics.ts";

export interface AccessLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export function observeRequests(logger: AccessLogger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    const method = c.req.method;
    const status = c.res.status;
    httpRequests.inc({ method, route, status: String(status) });
    httpRequestSeconds.observe({ method, route }, seconds);
    logger.info(
      { reqId: c.get("requestId"), method, route, path: c.req.path, status, ms: Math.round(seconds * 1000) },
      "request",
    );
  };
}

/**
 * The pattern of the handler that answered, e.g. `/api/v1/projects/:project_id`, so metrics have a
 * label per route rather than per project; "unmatched" when only middleware or a catch-all ran.
 */
function routeOf(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL" && !route.path.endsWith("*")) return route.path;
  }
  return "unmatched";
}
