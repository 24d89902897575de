import { EventEmitter } from "node:events";
import { get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Each test gets fresh modules: a process shuts down once, and so does each test's "process".
let shutdownModule: typeof import("./shutdown.ts");
let sseModule: typeof import("./sse.ts");
beforeEach(async () => {
  vi.resetModules();
  shutdownModule = await import("./shutdown.ts");
  sseModule = await import("./sse.ts");
});

const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
const logger = {
  info: (fields: Record<string, unknown>, message: string) => lines.push({ level: "info", message, fields }),
  warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: "warn", message, fields }),
};

let server: Server;
let port = 0;
let release: () => void = () => undefined;
let entered: Promise<void>;

beforeEach(async () => {
  lines.length = 0;
  let enter: () => void = () => undefined;
  entered = new Promise((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const app = new Hono()
    .get("/slow", async (c) => {
      enter();
      await released;
      return c.text("finished");
    })
    .get("/events", (c) =>
      sseModule.streamSubscription<string>(c, {
        subscribe: () => () => undefined,
        backlog: () => ["hello"],
        write: (stream, item) => stream.writeSSE({ data: item }),
      }),
    );
  server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }) as Server;
  await new Promise((resolve) => server.once("listening", resolve));
  port = (server.address() as AddressInfo).port;
});
afterEach(() => {
  release();
  server.closeAllConnections();
  server.close();
});

/** A GET on a connection of its own; resolves with the whole answer, or the error's code. */
function fetchText(path: string, onData?: (text: string) => void): Promise<{ status: number; text: string } | string> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        onData?.(text);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}

function start(timeoutMs: number) {
  const signals = new EventEmitter();
  const exit = vi.fn<(code: number) => void>();
  const stop = vi.fn(async () => undefined);
  const finish = vi.fn(async () => undefined);
  shutdownModule.shutDownOnSignals({ servers: [server, null], timeoutMs, logger, stop, finish, signals, exit });
  return { signals, exit, stop, finish };
}

describe("a graceful shutdown", () => {
  it("answers the requests it accepted, refuses new ones, ends event streams with a retry hint, then exits 0", async () => {
    const { signals, exit, stop, finish } = start(60_000);
    let streamStarted: () => void = () => undefined;
    const streaming = new Promise<void>((resolve) => (streamStarted = resolve));
    const stream = fetchText("/events", (text) => text.includes("hello") && streamStarted());
    const slow = fetchText("/slow");
    await Promise.all([streaming, entered]);

    signals.emit("SIGTERM");
    expect(shutdownModule.shutdownSignal.aborted).toBe(true);
    const ended = await stream;
    expect(ended).toMatchObject({ status: 200 });
    expect((ended as { text: string }).text).toMatch(/retry: \d+\n\n$/);
    expect(await fetchText("/slow")).toBe("ECONNREFUSED");
    expect(stop).toHaveBeenCalledOnce();
    // The slow request is still being answered: nothing is closed under it.
    expect(finish).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();

    release();
    expect(await slow).toEqual({ status: 200, text: "finished" });
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(finish).toHaveBeenCalledOnce();
    expect(lines.map((l) => l.message)).toEqual(["shutting down: no new connections", "stopped"]);
  });

  it("gives up after its timeout, cutting what is still open, and exits 1", async () => {
    const { signals, exit } = start(200);
    const slow = fetchText("/slow");
    await entered;
    signals.emit("SIGTERM");
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    expect(await slow).toBe("ECONNRESET");
    expect(lines.find((l) => l.level === "warn")).toMatchObject({
      message: "shutdown timed out; cutting connections",
      fields: { openConnections: 1, timeoutMs: 200 },
    });
  });

  it("ends at once on a second signal", async () => {
    const { signals, exit } = start(60_000);
    const slow = fetchText("/slow");
    await entered;
    signals.emit("SIGINT");
    expect(exit).not.toHaveBeenCalled();
    signals.emit("SIGINT");
    expect(exit).toHaveBeenCalledWith(1);
    expect(lines.at(-1)).toMatchObject({ level: "warn", message: "second signal: stopping now" });
    release();
    await slow;
  });
});
