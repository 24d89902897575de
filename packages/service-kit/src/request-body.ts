// What a request body must be before any handler reads it: at most `maxBytes` (by Content-Length,
// or counted as it streams in without one), and declared JSON. Anything else is a problem answer
// and nothing is done.

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProblemError } from "./problem.ts";

/** Every request body the services take is small JSON; a startup script is at most 64 KiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ProblemError(413, "body_too_large", `The request body is over ${maxBytes} bytes; nothing was done.`);
    },
  });
}

const json = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;

/** A body that is there must be declared JSON; a bodiless request needs no content type. */
export function requireJsonBody(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const type = c.req.header("content-type");
    const length = c.req.header("content-length");
    const hasBody = c.req.header("transfer-encoding") !== undefined || (length !== undefined && length !== "0");
    if (type === undefined ? !hasBody : json.test(type)) return next();
    throw new ProblemError(
      415,
      "unsupported_media_type",
      `Request bodies must be application/json${type === undefined ? "" : `, not ${type.slice(0, 100)}`}; nothing was done.`,
    );
  };
}
