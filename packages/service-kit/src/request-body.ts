// What a request must be before any handler reads it: a body of at most `maxBytes` (by
// Content-Length, or counted as it streams in without one), declared JSON, valid against the
// contract's schema for the operation, and IDs in its path that match the ID pattern. Anything
// else is a problem answer and nothing is done.

import { type Contract, type InvalidPart, isValidId } from "@prewarm/api-types/contract";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { validator } from "hono/validator";
import { invalidId, ProblemError } from "./problem.ts";

/** Every request body the services take is small JSON; a startup script is at most 64 KiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function limitBody(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      // The rest of the body is still on its way: the connection cannot carry another request,
      // and a client that reused it would meet a reset instead of the next answer.
      throw new ProblemError(
        413,
        "body_too_large",
        `The request body is over ${maxBytes} bytes; nothing was done.`,
      ).withHeader("Connection", "close");
    },
  });
  // GET and HEAD carry no body here; looking for one would make the server build the whole
  // request object for every read (measured: a tenth of a read's CPU).
  return (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limit(c, next));
}

const json = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A body that is there must be declared JSON, and be UTF-8 (JSON's only encoding): otherwise its
 * bytes would be read as replacement characters and stored. A bodiless request needs no content
 * type.
 */
export function requireJsonBody(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const type = c.req.header("content-type");
    const length = c.req.header("content-length");
    const hasBody = c.req.header("transfer-encoding") !== undefined || (length !== undefined && length !== "0");
    if (type === undefined && !hasBody) return next();
    if (type !== undefined && json.test(type)) {
      // Read once here (within the body limit); handlers read the same bytes again from Hono's cache.
      const bytes = await c.req.arrayBuffer();
      try {
        utf8.decode(bytes);
      } catch {
        throw new ProblemError(
          400,
          "malformed_request",
          "The request body is not UTF-8, as JSON must be; nothing was done.",
        );
      }
      return next();
    }
    throw new ProblemError(
      415,
      "unsupported_media_type",
      `Request bodies must be application/json${type === undefined ? "" : `, not ${type.slice(0, 100)}`}; nothing was done.`,
    );
  };
}

/** Validates a JSON body against the contract's schema for the operation. */
export function jsonBody<T>(contract: Contract, operationId: string) {
  return validator("json", (value) => {
    const result = contract.validateBody<T>(operationId, value);
    if (!result.ok) {
      throw new ProblemError(400, "invalid_request", describeInvalid(result.errors), result.errors);
    }
    return result.value;
  });
}

/** Reads a JSON body that may be left out entirely, validated like jsonBody. */
export async function readOptionalJsonBody<T>(c: Context, contract: Contract, operationId: string): Promise<T> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ProblemError(400, "malformed_request", "Malformed JSON in request body");
    }
  }
  const result = contract.validateBody<T>(operationId, value);
  if (!result.ok) throw new ProblemError(400, "invalid_request", describeInvalid(result.errors), result.errors);
  return result.value;
}

function describeInvalid(errors: InvalidPart[]): string {
  return `The request is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join("; ")}`;
}

/** Validates path parameters that are IDs before anything can use them. */
export function idParams<K extends string>(...names: K[]) {
  return validator("param", (value: Record<string, string>) => {
    const ids = {} as Record<K, string>;
    for (const name of names) {
      const id = value[name];
      if (!isValidId(id)) throw invalidId(name);
      ids[name] = id;
    }
    return ids;
  });
}
