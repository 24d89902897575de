import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { problemErrorHandler } from "./problem.ts";
import { limitBody } from "./request-body.ts";

const maxBytes = 1024 * 1024;
let server: ReturnType<typeof serve>;
let port = 0;

beforeAll(async () => {
  const app = new Hono();
  app.onError(problemErrorHandler({ error: () => undefined }));
  app.use(limitBody(maxBytes));
  app.post("/echo", async (c) => c.json({ length: (await c.req.text()).length }));
  server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Posts `bytes` in 64 KiB chunks without a Content-Length, as a streaming client does. */
function postChunked(
  agent: Agent,
  bytes: number,
): Promise<{ status: number; connection?: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port,
      agent,
      method: "POST",
      path: "/echo",
      headers: { "content-type": "application/json" },
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? String(error) }));
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const write = (): void => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe("an oversized chunked body", () => {
  it("gets a 413 every time, and the client's next request on a kept-alive agent gets its answer", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers = [];
      for (let i = 0; i < 10; i++) {
        answers.push(await postChunked(agent, 2 * maxBytes));
        answers.push(await postChunked(agent, 1024));
      }
      expect(answers.filter((_, i) => i % 2 === 0)).toEqual(Array(10).fill({ status: 413, connection: "close" }));
      expect(answers.filter((_, i) => i % 2 === 1).map((a) => ("status" in a ? a.status : a.error))).toEqual(
        Array(10).fill(200),
      );
    } finally {
      agent.destroy();
    }
  });
});
