// Each service's metrics, in Prometheus text format, for operators only: served on a listener of
// their own (bound where the operator says, e.g. loopback or a private network), or on the main
// listener to a bearer token of their own. Never to a user's token: a project user has no business
// reading every project's sizes and every route's traffic.
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { requireToken } from "./bearer-token.ts";
import type { MetricsAccess } from "./env.ts";
import { notFoundHandler } from "./problem.ts";

/** One registry per process; both services add their own metrics to it next to these. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequests = new Counter({
  name: "prewarm_http_requests_total",
  help: "HTTP requests answered, by route pattern and status",
  labelNames: ["method", "route", "status"] as const,
  registers: [registry],
});

export const httpRequestSeconds = new Histogram({
  name: "prewarm_http_request_duration_seconds",
  help: "Time to the answer's headers (streams are counted in prewarm_event_streams_open instead)",
  labelNames: ["method", "route"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const eventStreamsOpen = new Gauge({
  name: "prewarm_event_streams_open",
  help: "Server-sent event streams open now",
  registers: [registry],
});

/** `/metrics` on the main listener (mounted there with `app.route`): for the metrics token only, 404 without one. */
export function metricsRoute(token: string | null): Hono {
  if (token === null) return new Hono().get("/", notFoundHandler);
  return new Hono().use(requireToken(token, [], "metrics")).get("/", () => metricsResponse());
}

/** Starts the metrics' own listener when one is configured. */
export function serveMetrics(access: MetricsAccess, onListening?: (address: string) => void): ServerType | null {
  if (access.port === null) return null;
  const app = new Hono().get("/metrics", () => metricsResponse());
  return serve({ fetch: app.fetch, hostname: access.host, port: access.port }, (info) =>
    onListening?.(`http://${info.address}:${info.port}/metrics`),
  );
}

async function metricsResponse(): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
}
