// A browser sends the session cookie with requests other sites make it send. So a change that
// came with the cookie is carried out only when the browser says it came from the app's own
// origin: the `Origin` header (sent by every browser on POST, PUT, PATCH and DELETE) must be one
// the app is served from, or, without it, `Sec-Fetch-Site` must say same-origin. A request with
// neither is refused too: nothing shows it came from the app's page. Scripts using API tokens
// are not affected; a cross-site page cannot read or attach a token.
import { ProblemError } from "@prewarm/service-kit/problem";
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { sessionCookie } from "./authenticate.ts";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/** `allowedOrigins`: where the app is served from besides the request's own host (e.g. PUBLIC_URL). */
export function sameOriginChanges(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));
  return async (c, next) => {
    if (safeMethods.has(c.req.method)) return next();
    const origin = c.req.header("origin");
    const ownOrigin = new URL(c.req.url).origin;
    const fromApp = origin !== undefined && (origin === ownOrigin || allowed.has(origin));
    // Any request naming a foreign origin is refused, whatever it authenticates with: a login
    // or logout forced by another site is an attack too.
    if (origin !== undefined && !fromApp) throw crossSite(origin);
    const cookieCarried = c.get("authenticatedBy") === "session" || getCookie(c, sessionCookie) !== undefined;
    if (origin === undefined && cookieCarried && c.req.header("sec-fetch-site") !== "same-origin") {
      throw crossSite(null);
    }
    return next();
  };
}

function crossSite(origin: string | null): ProblemError {
  return new ProblemError(
    403,
    "cross_site_request",
    origin === null
      ? "Changes made with the session cookie must come from this app's pages (no Origin header was sent)."
      : `Changes made from ${origin} are refused: only this app's own pages may make them.`,
  );
}
