// The sandbox going away and coming back, as the BFF tells the page: its status turns
// unreachable with the reason, every open project stream hears it, and it turns reachable again
// by itself once the sandbox answers; readiness reports it but depends on the database alone.
import type { Server } from "node:http";
import { mockDockerAvailability } from "@prewarm/mock-sandbox/model";
import { createMockSandboxServer } from "@prewarm/mock-sandbox/serve";
import { freePort } from "@prewarm/test-kit/processes";
import { expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { AuthStore } from "../src/auth/auth-store.ts";
import { createLogger } from "../src/logger.ts";
import { SandboxHealth } from "../src/sandbox/sandbox-health.ts";
import { createServices, startServices, stopServices } from "../src/services.ts";
import { migrate } from "../src/store/migrate.ts";
import { createPgliteClient } from "../src/store/sql-client.ts";

it("says the sandbox is unreachable, with why, and reachable again when it returns", async () => {
  const port = await freePort();
  const sql = await createPgliteClient(null);
  await migrate(sql);
  const services = createServices({
    sql,
    logger: createLogger("silent"),
    sandboxUrl: `http://127.0.0.1:${port}`,
    webDist: null,
    buildTimeoutSeconds: 1800,
    reconcileIntervalMs: 60_000,
  });
  const auth = new AuthStore(sql);
  const user = await auth.createUser("olivia", null);
  const token = await auth.createApiToken(user.id, "test");
  const project = await services.store.createProject({ name: "Shop", owner_id: user.id });
  const app = createApp(services);
  const heard: string[] = [];
  services.fleet.subscribe((status) =>
    heard.push(`reachable: ${status.reachable}, docker: ${status.docker?.available ?? "unknown"}`),
  );
  let mock: ReturnType<typeof createMockSandboxServer> | undefined;
  try {
    await startServices(services);
    await expect.poll(() => services.fleet.status().reachable, { timeout: 10_000 }).toBe(false);
    const down = await app.request("/api/v1/sandbox", { headers: { authorization: `Bearer ${token}` } });
    expect(await down.json()).toMatchObject({ reachable: false, detail: expect.stringMatching(/\S/) });
    // Still ready: an unreachable sandbox is reported, not a reason to take the BFF out of service.
    const ready = await app.request("/api/v1/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      database: { reachable: true, detail: null },
      sandbox: { reachable: false },
    });

    // A browser opening the page now learns it from the stream's start.
    const stream = await app.request(`/api/v1/projects/${project.id}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("event: sandbox")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toMatch(/event: sandbox\ndata: \{"reachable":false/);

    mock = createMockSandboxServer({ port });
    await expect.poll(() => services.fleet.status().reachable, { timeout: 15_000 }).toBe(true);
    // Connected, it also asks whether its runs get a Docker daemon, and says so.
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBe(3);
    expect(heard).toEqual([
      "reachable: false, docker: unknown",
      "reachable: true, docker: unknown",
      "reachable: true, docker: true",
    ]);
    const up = await app.request("/api/v1/sandbox", { headers: { authorization: `Bearer ${token}` } });
    expect(await up.json()).toMatchObject({ reachable: true, detail: null, docker: mockDockerAvailability });
  } finally {
    await stopServices(services);
    (mock?.server as Server | undefined)?.close();
    await sql.close();
  }
  // Without its database the BFF is alive but not ready.
  expect((await app.request("/api/v1/health")).status).toBe(200);
  const unready = await app.request("/api/v1/readyz");
  expect(unready.status).toBe(503);
  expect(await unready.json()).toMatchObject({
    status: "not_ready",
    database: { reachable: false, detail: expect.stringMatching(/^The database did not answer/) },
  });
});

it("tells listeners once of each change to what the sandbox says of its runs' Docker daemons", () => {
  const health = new SandboxHealth();
  const heard: unknown[] = [];
  health.subscribe((status) => heard.push(status.docker));
  const notIsolated = { ...mockDockerAvailability, projects_isolated: false };
  const rootDaemons = { ...mockDockerAvailability, rootless: false };
  const refusing = {
    ...mockDockerAvailability,
    rootless: null,
    refuses_runs: true,
    detail: "no rootless daemons here",
  };
  for (const docker of [mockDockerAvailability, notIsolated, notIsolated, rootDaemons, refusing, { ...refusing }]) {
    health.docker({ ...docker });
  }
  expect(heard).toEqual([mockDockerAvailability, notIsolated, rootDaemons, refusing]);
});
