import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerClientErrors } from "./client-errors.ts";

let server: ReturnType<typeof serve>;
let port = 0;

beforeAll(async () => {
  const app = new Hono().get("/", (c) => c.json({ ok: true }));
  server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  answerClientErrors(server);
  await new Promise((resolve) => server.once("listening", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Sends raw bytes and reads the whole answer until the server closes. */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.end(bytes);
  });
}

function parse(answer: string) {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  return { statusLine: head.split("\r\n")[0], head, body: JSON.parse(body) };
}

describe("requests Node's HTTP parser refuses", () => {
  it("answers a raw non-ASCII byte in the target with a problem", async () => {
    const answer = parse(await raw(Buffer.from("GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", "latin1")));
    expect(answer.statusLine).toBe("HTTP/1.1 400 Bad Request");
    expect(answer.head).toContain("Content-Type: application/problem+json");
    expect(answer.body).toEqual({
      type: "urn:prewarm:problem:malformed_request",
      title: "Bad Request",
      status: 400,
      code: "malformed_request",
      detail: "The request is not valid HTTP; nothing was done.",
    });
  });

  it("answers a malformed request line with a problem", async () => {
    const answer = parse(await raw(Buffer.from("NOT HTTP AT ALL\r\n\r\n")));
    expect(answer.statusLine).toBe("HTTP/1.1 400 Bad Request");
    expect(answer.body).toMatchObject({ status: 400, code: "malformed_request" });
  });

  it("answers headers that are too large with 431", async () => {
    const answer = parse(await raw(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)));
    expect(answer.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(answer.body).toMatchObject({ status: 431, code: "headers_too_large" });
  });

  it("leaves valid requests alone", async () => {
    const answer = await raw(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(answer).toContain('{"ok":true}');
  });
});
