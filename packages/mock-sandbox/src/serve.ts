// The mock sandbox over HTTP, for the e2e suite: the same typed handlers a BFF test uses, plus
// /__control endpoints through which a test plays the sandbox's part (see control-client.ts).
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { getResponse } from "msw";
import { createSandboxHandlers } from "./handlers.ts";
import { type FinishOptions, MockSandbox, MockSandboxError } from "./mock-sandbox.ts";

export function createMockSandboxServer(options: {
  port: number;
  host?: string;
  /** Sees every request as it arrives, e.g. to tell when every BFF process has asked something. */
  onRequest?: (method: string, path: string) => void;
}) {
  const sandbox = new MockSandbox();
  const host = options.host ?? "127.0.0.1";
  const baseUrl = `http://${host}:${options.port}`;
  const handlers = createSandboxHandlers(sandbox, baseUrl);
  const control = controlApp(sandbox);
  const server = serve({
    hostname: host,
    port: options.port,
    fetch: async (request) => {
      const url = new URL(request.url);
      options.onRequest?.(request.method, url.pathname);
      if (url.pathname.startsWith("/__control/")) return control.fetch(request);
      // Handlers match on the absolute URL they were made with.
      const absolute = new Request(`${baseUrl}${url.pathname}${url.search}`, request);
      const response = await getResponse(handlers, absolute);
      if (!response) return Response.json({ code: "route_not_found" }, { status: 404 });
      if (response.type === "error") return Response.json({ code: "offline" }, { status: 503 });
      return response;
    },
  });
  return { sandbox, server, baseUrl };
}

function controlApp(sandbox: MockSandbox) {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof MockSandboxError)
      return c.json({ code: error.code, detail: error.message }, error.status as 404);
    return c.json({ code: "control_error", detail: String(error) }, 500);
  });
  app.post("/__control/reset", (c) => {
    sandbox.reset();
    return c.body(null, 204);
  });
  app.get("/__control/builds", (c) => {
    const projectId = c.req.query("project_id");
    const builds = sandbox.allBuilds().filter((b) => !projectId || b.project_id === projectId);
    return c.json({ builds });
  });
  app.get("/__control/builds/:build_id/request", (c) => c.json(sandbox.buildRequest(c.req.param("build_id"))));
  app.post("/__control/builds/:build_id/log", async (c) => {
    const { text } = await c.req.json<{ text: string }>();
    sandbox.emitLog(c.req.param("build_id"), text);
    return c.body(null, 204);
  });
  app.post("/__control/builds/:build_id/finish", async (c) => {
    const options = await c.req.json<FinishOptions>().catch(() => ({}));
    return c.json(sandbox.finishBuild(c.req.param("build_id"), options));
  });
  app.post("/__control/goldens/:project_id", async (c) => {
    const { size_bytes } = await c.req.json<{ size_bytes: number }>();
    sandbox.setGolden(c.req.param("project_id"), size_bytes);
    return c.body(null, 204);
  });
  app.post("/__control/goldens/:project_id/evict", (c) => {
    sandbox.evictGolden(c.req.param("project_id"));
    return c.body(null, 204);
  });
  app.get("/__control/test-sessions", (c) => c.json(sandbox.testSessions.latest(c.req.query("project_id") ?? "")));
  app.post("/__control/test-sessions/:session_id/prepare", async (c) =>
    c.json(sandbox.testSessions.prepare(c.req.param("session_id"), await c.req.json())),
  );
  app.post("/__control/test-sessions/:session_id/log", async (c) => {
    sandbox.testSessions.emitLog(c.req.param("session_id"), (await c.req.json<{ text: string }>()).text);
    return c.body(null, 204);
  });
  app.post("/__control/test-sessions/:session_id/finish", async (c) =>
    c.json(
      sandbox.testSessions.finish(c.req.param("session_id"), (await c.req.json<{ exit_code: number }>()).exit_code),
    ),
  );
  app.post("/__control/docker", async (c) => {
    sandbox.docker = await c.req.json<MockSandbox["docker"]>();
    // A real sandbox changes what its runs get only by restarting with a new configuration.
    sandbox.restart();
    return c.body(null, 204);
  });
  app.post("/__control/online", async (c) => {
    sandbox.online = (await c.req.json<{ online: boolean }>()).online;
    // Gone from the network: its open event streams end with it.
    if (!sandbox.online) sandbox.restart();
    return c.body(null, 204);
  });
  app.get("/__control/replications/:project_id", (c) => c.json(sandbox.replications.get(c.req.param("project_id"))));
  app.post("/__control/replications/:project_id/progress", async (c) => {
    const { progress, size_bytes } = await c.req.json<{ progress: number; size_bytes: number }>();
    return c.json(sandbox.replications.progress(c.req.param("project_id"), progress, size_bytes));
  });
  app.post("/__control/replications/:project_id/promote", async (c) => {
    const { size_bytes } = await c.req.json<{ size_bytes: number }>();
    return c.json(sandbox.replications.promote(c.req.param("project_id"), size_bytes));
  });
  app.post("/__control/replications/:project_id/fail", async (c) => {
    const { error } = await c.req.json<{ error: string }>();
    return c.json(sandbox.replications.fail(c.req.param("project_id"), error));
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.MOCK_SANDBOX_PORT ?? 7171);
  const { baseUrl } = createMockSandboxServer({ port });
  console.log(`mock sandbox listening on ${baseUrl}`);
}
