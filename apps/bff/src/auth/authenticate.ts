// Every /api request is made by someone: a browser with a session cookie or a script with an API
// token. The only exceptions are the operations the contract marks `security: []` (health, login,
// logout, Git host webhooks, which are verified by their signature); the list is read from
// openapi/bff.yaml, so an operation cannot become public by accident in code.
// A request about a project (a path under /projects/{project_id}) also learns here, in the same
// statement as who makes it, what they are to that project and the project itself; the access
// check (project-access.ts) decides with that, for this request only.
import { type Contract, isValidId, loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AuthStore, Credential, ProjectAccess, Requester, User } from "./auth-store.ts";

export const sessionCookie = "prewarm_session";

declare module "hono" {
  interface ContextVariableMap {
    user: User;
    /** How the request proved who it is; only cookies need the same-origin check. */
    authenticatedBy: "session" | "token";
    /** What the user is to the project the request is about, as read for this request. */
    projectAccess: ProjectAccess | undefined;
  }
}

const contract = loadContract("bff");

const publicOperations = contract
  .operations()
  .filter((op) => op.isPublic)
  .map((op) => ({
    method: op.method,
    path: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));

function isPublicRequest(method: string, path: string): boolean {
  return publicOperations.some((op) => op.method === method && op.path.test(path));
}

/** Where the contract's authenticated operations name a project: `/api/v1/projects/{project_id}` and below. */
function projectPaths(contract: Contract): RegExp {
  const prefixes = new Set(
    contract
      .operations()
      .filter((op) => !op.isPublic && op.path.includes("{project_id}"))
      .map((op) => op.path.slice(0, op.path.indexOf("{project_id}"))),
  );
  const escaped = [...prefixes].map((prefix) => prefix.replace(/[.*+?^$()|[\]\\]/g, "\\$&"));
  if (escaped.length === 0) return /(?!)/;
  return new RegExp(`^(?:${escaped.join("|")})([^/]+)(?:/|$)`);
}

const projectPath = projectPaths(contract);

/** The project the request is about, when its path names one with a well-formed ID. */
function projectOf(path: string): string | null {
  const id = projectPath.exec(path)?.[1];
  return id !== undefined && isValidId(id) ? id : null;
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
  const projectId = projectOf(c.req.path);
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw unauthenticated("The Authorization header must be `Bearer <token>`.");
    const requester = await auth.requester({ kind: "token", secret: match[1] }, projectId);
    if (!requester) throw unauthenticated("The API token is not known or was revoked.");
    return remember(c, requester, "token");
  }
  const token = getCookie(c, sessionCookie);
  const requester = token ? await auth.requester({ kind: "session", secret: token }, projectId) : null;
  return requester ? remember(c, requester, "session") : null;
}

function remember(c: Context, requester: Requester, by: Credential["kind"]): User {
  c.set("user", requester.user);
  c.set("authenticatedBy", by);
  if (requester.access) c.set("projectAccess", requester.access);
  return requester.user;
}
