// Logs are proxied from the sandbox as they are: bytes with ANSI colours, streamed while followed.
import { ProblemError } from "@prewarm/service-kit/problem";
import { shutdownSignal } from "@prewarm/service-kit/shutdown";
import type { Context } from "hono";

/** `?follow=true|false`; anything else is a 400. */
export function followParam(c: Context): boolean {
  const follow = c.req.query("follow");
  if (follow !== undefined && follow !== "true" && follow !== "false") {
    throw new ProblemError(400, "invalid_request", "follow must be true or false", [
      { path: "follow", message: "must be true or false" },
    ]);
  }
  return follow === "true";
}

/**
 * Relays a log from the sandbox. When the reader goes away (a viewer closed), `signal` aborts the
 * request to the sandbox and the relay simply ends: a closed viewer is not an error. A followed
 * log also ends when the BFF shuts down, so it does not hold the shutdown up; the viewer keeps the
 * log so far.
 */
export function logResponse(upstream: ReadableStream<Uint8Array>, signal: AbortSignal): Response {
  const reader = upstream.getReader();
  const endOnShutdown = () => void reader.cancel().catch(() => undefined);
  shutdownSignal.addEventListener("abort", endOnShutdown, { once: true });
  const ended = () => shutdownSignal.removeEventListener("abort", endOnShutdown);
  const relay = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (!done && !shutdownSignal.aborted) return controller.enqueue(value);
        ended();
        controller.close();
      } catch (error) {
        ended();
        if (signal.aborted || shutdownSignal.aborted) controller.close();
        else controller.error(error);
      }
    },
    cancel: (reason) => {
      ended();
      return reader.cancel(reason);
    },
  });
  return new Response(relay, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
