// Every /api request is made by someone: a browser with a session cookie or a script with an API
// token. The only exceptions are the operations the contract marks `security: []` (health, login,
// logout, Git host webhooks, which are verified by their signature); the list is read from
// openapi/bff.yaml, so an operation cannot become public by accident in code.
import { loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AuthStore, User } from "./auth-store.ts";

export const sessionCookie = "prewarm_session";

declare module "hono" {
  interface ContextVariableMap {
    user: User;
    /** How the request proved who it is; only cookies need the same-origin check. */
    authenticatedBy: "session" | "token";
  }
}

const publicOperations = loadContract("bff")
  .operations()
  .filter((op) => op.isPublic)
  .map((op) => ({
    method: op.method,
    path: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));

function isPublicRequest(method: string, path: string): boolean {
  return publicOperations.some((op) => op.method === method && op.path.test(path));
}

export function unauthenticated(detail = "Log in, or send an API token as `Authorization: Bearer <token>`.") {
  return new ProblemError(401, "unauthenticated", detail).withHeader("WWW-Authenticate", 'Bearer realm="prewarm"');
}

/** Finds who makes the request; refuses it with 401 unless the operation is public. */
export function authenticate(auth: AuthStore): MiddlewareHandler {
  return async (c, next) => {
    if (isPublicRequest(c.req.method, c.req.path)) return next();
    const user = await identify(c, auth);
    if (!user) throw unauthenticated();
    return next();
  };
}

async function identify(c: Context, auth: AuthStore): Promise<User | null> {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw unauthenticated("The Authorization header must be `Bearer <token>`.");
    const user = await auth.userByApiToken(match[1]);
    if (!user) throw unauthenticated("The API token is not known or was revoked.");
    c.set("user", user);
    c.set("authenticatedBy", "token");
    return user;
  }
  const token = getCookie(c, sessionCookie);
  const user = token ? await auth.userBySession(token) : null;
  if (user) {
    c.set("user", user);
    c.set("authenticatedBy", "session");
  }
  return user;
}
