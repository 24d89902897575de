// Logging in and out, and who the caller is. Login answers wrong names and wrong passwords alike,
// in the same time, and is throttled per user name and per address.

import { getConnInfo } from "@hono/node-server/conninfo";
import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import { jsonBody } from "@prewarm/service-kit/request-body";
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { audit } from "../../audit.ts";
import { sessionLifetimeDays, type User } from "../../auth/auth-store.ts";
import { sessionCookie, unauthenticated } from "../../auth/authenticate.ts";
import type { AppDeps } from "../../deps.ts";
import { loginFailures } from "../../metrics.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

export function authRoutes({ auth, loginThrottle, secureCookies, logger }: AppDeps) {
  const startSession = async (c: Context, user: User) => {
    setCookie(c, sessionCookie, await auth.createSession(user.id), {
      httpOnly: true,
      sameSite: "Lax",
      secure: secureCookies || new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: sessionLifetimeDays * 24 * 3600,
    });
    return c.json({ user, operator: await auth.isOperator(user.id) } satisfies Schemas["Session"]);
  };

  return new Hono()
    .post("/auth/login", jsonBody<Schemas["LoginRequest"]>(contract, "logIn"), async (c) => {
      const body = c.req.valid("json");
      if ("login_token" in body) {
        const user = await auth.spendLoginLink(body.login_token);
        if (!user) {
          loginFailures.inc({ reason: "login_link" });
          audit(logger, c, "login_failed", { with: "login_link", address: clientAddress(c) });
          throw unauthenticated("This login link was used already or has expired; ask for a new one.");
        }
        audit(logger, c, "login", { actor: user.name, with: "login_link", address: clientAddress(c) });
        return startSession(c, user);
      }
      const address = clientAddress(c);
      const wait = await loginThrottle.retryAfter(body.username, address);
      if (wait > 0) {
        loginFailures.inc({ reason: "throttled" });
        audit(logger, c, "login_failed", { user: body.username, with: "password", address, reason: "throttled" });
        throw new ProblemError(
          429,
          "too_many_attempts",
          `Too many failed logins; try again in ${wait} seconds.`,
        ).withHeader("Retry-After", String(wait));
      }
      const user = await auth.checkPassword(body.username, body.password);
      if (!user) {
        await loginThrottle.failed(body.username, address);
        loginFailures.inc({ reason: "wrong_credentials" });
        audit(logger, c, "login_failed", { user: body.username, with: "password", address });
        throw unauthenticated("Wrong user name or password.");
      }
      await loginThrottle.succeeded(body.username);
      audit(logger, c, "login", { actor: user.name, with: "password", address });
      return startSession(c, user);
    })
    .post("/auth/logout", async (c) => {
      const token = getCookie(c, sessionCookie);
      if (token) await auth.endSession(token);
      deleteCookie(c, sessionCookie, { path: "/" });
      return c.body(null, 204);
    })
    .get("/me", async (c) => {
      const user = c.get("user");
      return c.json({ user, operator: await auth.isOperator(user.id) } satisfies Schemas["Session"]);
    });
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    // Requests made in-process (tests) have no socket.
    return "in-process";
  }
}
