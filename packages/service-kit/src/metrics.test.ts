import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { serveMetrics } from "./metrics.ts";

describe("the metrics' own listener", () => {
  it("serves /metrics without a token and nothing else", async () => {
    let address = "";
    const server = serveMetrics({ port: 0, host: "127.0.0.1", token: null }, (at) => (address = at)) as Server;
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("# TYPE prewarm_http_requests_total counter");
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/projects`)).status).toBe(404);
      expect(address).toBe(`http://127.0.0.1:${port}/metrics`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("is not started without a port", () => {
    expect(serveMetrics({ port: null, host: "127.0.0.1", token: "t".repeat(40) })).toBeNull();
  });
});
