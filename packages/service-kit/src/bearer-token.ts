// Invariant: with a token configured, no request but those to the open paths reaches a handler
// unless it carries `Authorization: Bearer <token>`; any other request is answered 401 before its
// body is read or anything is done. The token is compared in constant time and never logged or
// echoed. The sandbox guards its whole API with it, both services their metrics.
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ProblemError, problemResponse } from "./problem.ts";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Checks the bearer token on every request but `openPaths`; no token configured means no check. */
export function requireToken(token: string | null, openPaths: readonly string[], realm: string): MiddlewareHandler {
  if (token === null) return (_c, next) => next();
  // Hashing both sides gives equal lengths, so timingSafeEqual never throws and leaks no length.
  const expected = digest(token);
  return async (c, next) => {
    if ((c.req.method === "GET" || c.req.method === "HEAD") && openPaths.includes(c.req.path)) return next();
    const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(c.req.header("authorization") ?? "");
    if (match && timingSafeEqual(digest(match[1]!), expected)) return next();
    const response = problemResponse(
      new ProblemError(
        401,
        "unauthenticated",
        match ? "The bearer token is wrong." : "This service needs `Authorization: Bearer <token>`.",
      ).toProblem(c.req.path),
    );
    response.headers.set("www-authenticate", `Bearer realm="${realm}"`);
    return response;
  };
}
