// Logs are proxied from the sandbox as they are: bytes with ANSI colours, streamed while followed.
import { ProblemError } from "@prewarm/service-kit/problem";
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

export function logResponse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
