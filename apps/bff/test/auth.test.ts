// Who you are and what a browser may do with it: login by password and by one-time link, the
// session cookie, API tokens, the same-origin rule for cookie changes, login throttling, body
// limits, security headers, and secrets kept out of the logs.
import { randomBytes, scryptSync } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { bootstrapOwner } from "../src/auth/bootstrap-owner.ts";
import { LoginThrottle } from "../src/auth/login-throttle.ts";
import { signature } from "../src/docker-cache/github-webhook.ts";
import { createTestBff, script, type TestUser, useMockSandbox, useTestBff } from "./helpers.ts";

useMockSandbox();
const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});
const bff = useTestBff({ monitor: false, logger: pino({ level: "debug" }, sink) });
let alice: TestUser;
const origin = "http://localhost";

beforeAll(async () => {
  alice = await bff.addUser("alice", "correct horse battery");
});

async function logIn(body: unknown, headers: Record<string, string> = {}) {
  return bff.requestAs(null, "POST", "/api/v1/auth/login", body, { origin, ...headers });
}

function sessionCookieOf(res: Response): string {
  const header = res.headers.get("set-cookie") ?? "";
  const value = /prewarm_session=([^;]+)/.exec(header)?.[1];
  if (!value) throw new Error(`no session cookie in ${header}`);
  return `prewarm_session=${value}`;
}

describe("password hashes", () => {
  const storedHash = async (name: string) =>
    (await bff.sql.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE name = $1", [name]))[0]
      ?.password_hash;

  it("record scrypt's parameters beside the salt and key", async () => {
    await bff.addUser("params", "a password of theirs");
    expect(await storedHash("params")).toMatch(/^scrypt\$N=1024,r=8,p=1\$[\w-]{22}\$[\w-]{43}$/);
  });

  it("made with older parameters still log in, and are made anew at that login only", async () => {
    const user = await bff.addUser("older", "an old password");
    // A hash from before the parameters were recorded: scrypt at N = 2^14, `scrypt$salt$key`.
    const salt = randomBytes(16);
    const key = scryptSync("an old password", salt, 32, { N: 16384, r: 8, p: 1 });
    const old = `scrypt$${salt.toString("base64url")}$${key.toString("base64url")}`;
    await bff.sql.query("UPDATE users SET password_hash = $2 WHERE id = $1", [user.id, old]);

    expect((await logIn({ username: "older", password: "a wrong one" })).status).toBe(401);
    expect(await storedHash("older")).toBe(old);
    expect((await logIn({ username: "older", password: "an old password" })).status).toBe(200);
    const renewed = await storedHash("older");
    expect(renewed).toMatch(/^scrypt\$N=1024,r=8,p=1\$/);
    expect((await logIn({ username: "older", password: "an old password" })).status).toBe(200);
    expect(await storedHash("older")).toBe(renewed);
  });
});

describe("logging in", () => {
  it("with a password sets an HttpOnly, SameSite=Lax session cookie that identifies the user", async () => {
    const res = await logIn({ username: "alice", password: "correct horse battery" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: { id: alice.id, name: "alice" }, operator: false });
    const header = res.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/SameSite=Lax/i);
    expect(header).toMatch(/Path=\//);
    expect(header).not.toMatch(/Secure/i);
    const me = await bff.requestAs(null, "GET", "/api/v1/me", undefined, { cookie: sessionCookieOf(res) });
    expect(await me.json()).toEqual({ user: { id: alice.id, name: "alice" }, operator: false });
  });

  it("marks the cookie Secure behind HTTPS", async () => {
    const res = await bff.app.request("https://prewarm.example/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://prewarm.example" },
      body: JSON.stringify({ username: "alice", password: "correct horse battery" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("answers a wrong password and an unknown user alike, without a cookie", async () => {
    const wrongPassword = await logIn({ username: "alice", password: "wrong" });
    const unknownUser = await logIn({ username: "nobody", password: "wrong" });
    for (const res of [wrongPassword, unknownUser]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect((await wrongPassword.json()).detail).toBe((await unknownUser.json()).detail);
  });

  it("with a login link works once", async () => {
    const token = await bff.services.auth.createLoginLink(alice.id);
    const first = await logIn({ login_token: token });
    expect(first.status).toBe(200);
    const again = await logIn({ login_token: token });
    expect(again.status).toBe(401);
    expect((await again.json()).detail).toMatch(/used already or has expired/);
  });

  it("ends with logout: the cookie no longer works", async () => {
    const cookie = sessionCookieOf(await logIn({ username: "alice", password: "correct horse battery" }));
    const out = await bff.requestAs(null, "POST", "/api/v1/auth/logout", undefined, { cookie, origin });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/prewarm_session=;/);
    const me = await bff.requestAs(null, "GET", "/api/v1/me", undefined, { cookie });
    expect(me.status).toBe(401);
  });

  it("is throttled after five failures for a user, even with the right password, with Retry-After", async () => {
    await bff.addUser("bob", "bob's password");
    for (let i = 0; i < 5; i++) expect((await logIn({ username: "bob", password: `guess ${i}` })).status).toBe(401);
    const refused = await logIn({ username: "bob", password: "bob's password" });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await refused.json()).code).toBe("too_many_attempts");
    // Another user is not locked out by bob's attacker.
    expect((await logIn({ username: "alice", password: "correct horse battery" })).status).toBe(200);
  });
});

describe("the login throttle", () => {
  it("lets attempts through again once the failures leave the window, and per address too", async () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle(bff.sql, { perUser: 3, perAddress: 5, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) await throttle.failed("carol", "10.0.0.1");
    expect(await throttle.retryAfter("carol", "10.0.0.2")).toBe(60);
    now += 30_000;
    expect(await throttle.retryAfter("carol", "10.0.0.2")).toBe(30);
    now += 30_001;
    expect(await throttle.retryAfter("carol", "10.0.0.2")).toBe(0);
    for (const name of ["d", "e", "f", "g", "h"]) await throttle.failed(name, "10.0.0.9");
    expect(await throttle.retryAfter("someone-new", "10.0.0.9")).toBeGreaterThan(0);
    expect(await throttle.retryAfter("someone-new", "10.0.0.8")).toBe(0);
  });

  it("counts the failures of every BFF process on the database together", async () => {
    // Two processes' throttles on one database: five failures in all lock the name for both.
    const first = new LoginThrottle(bff.sql);
    const second = new LoginThrottle(bff.sql);
    for (let i = 0; i < 5; i++) await (i % 2 ? first : second).failed("dave", `10.1.0.${i}`);
    expect(await first.retryAfter("dave", "10.1.0.9")).toBeGreaterThan(0);
    expect(await second.retryAfter("Dave", "10.1.0.9")).toBeGreaterThan(0);
    await first.succeeded("dave");
    expect(await second.retryAfter("dave", "10.1.0.9")).toBe(0);
  });
});

describe("API tokens", () => {
  it("are stored only as hashes and authenticate a script", async () => {
    const token = await bff.services.auth.createApiToken(alice.id, "ci");
    const rows = JSON.stringify(await bff.sql.query("SELECT * FROM api_tokens"));
    expect(rows).not.toContain(token);
    const me = await bff.requestAs(null, "GET", "/api/v1/me", undefined, { authorization: `Bearer ${token}` });
    expect((await me.json()).user.name).toBe("alice");
  });

  it("refuse unknown tokens and malformed headers with 401 and WWW-Authenticate", async () => {
    for (const authorization of ["Bearer pwc_not-a-token", "Basic YWxpY2U6eA==", "Bearer"]) {
      const res = await bff.requestAs(null, "GET", "/api/v1/projects", undefined, { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await res.json()).code).toBe("unauthenticated");
    }
  });
});

describe("changes made with the session cookie", () => {
  let cookie: string;
  let projectId: string;
  beforeAll(async () => {
    cookie = sessionCookieOf(await logIn({ username: "alice", password: "correct horse battery" }));
    projectId = (
      await bff.services.store.createProject({ name: "Alice's", startup_script: script, owner_id: alice.id })
    ).id;
  });
  const patch = (headers: Record<string, string>) =>
    bff.requestAs(null, "PATCH", `/api/v1/projects/${projectId}`, { startup_script: "echo from somewhere" }, headers);

  it("are refused from another site's origin, and nothing changes", async () => {
    const res = await patch({ cookie, origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe("cross_site_request");
    expect((await bff.services.store.getProject(projectId))?.startup_script).toBe(script);
  });

  it("are refused when the browser says nothing about where they come from", async () => {
    expect((await patch({ cookie })).status).toBe(403);
    expect((await patch({ cookie, "sec-fetch-site": "cross-site" })).status).toBe(403);
  });

  it("are carried out from the app's own origin", async () => {
    expect((await patch({ cookie, origin })).status).toBe(200);
    expect((await patch({ cookie, "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  it("do not hinder reads, nor scripts using a token", async () => {
    expect((await bff.requestAs(null, "GET", `/api/v1/projects/${projectId}`, undefined, { cookie })).status).toBe(200);
    const token = await bff.services.auth.createApiToken(alice.id, "script");
    expect((await patch({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("refuses a login forced by another site", async () => {
    const res = await logIn(
      { username: "alice", password: "correct horse battery" },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});

describe("limits and headers", () => {
  it("refuses bodies over 1 MiB with 413 before reading them", async () => {
    const project = await bff.newProject({ name: "Big", startup_script: script });
    const body = JSON.stringify({ startup_script: "x".repeat(1024 * 1024) });
    const res = await bff.request("PATCH", `/api/v1/projects/${project.id}`, body);
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await res.json()).code).toBe("body_too_large");
    expect((await bff.services.store.getProject(project.id))?.startup_script).toBe(script);
  });

  it("refuses a startup script over 65,536 characters", async () => {
    const project = await bff.newProject({ name: "Long", startup_script: script });
    const res = await bff.request("PATCH", `/api/v1/projects/${project.id}`, { startup_script: "x".repeat(65_537) });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].path).toBe("/startup_script");
  });

  it("limits webhook deliveries to 10 MiB", async () => {
    const project = await bff.newProject({ name: "Hooked", startup_script: script });
    const res = await bff.requestAs(
      null,
      "POST",
      `/api/v1/webhooks/github/${project.id}`,
      "x".repeat(10 * 1024 * 1024 + 1),
      {
        "x-github-event": "push",
        "x-hub-signature-256": "sha256=00",
      },
    );
    expect(res.status).toBe(413);
  });

  it("sends security headers on API answers, errors and pages", async () => {
    for (const res of [
      await bff.request("GET", "/api/v1/projects"),
      await bff.requestAs(null, "GET", "/api/v1/projects"),
    ]) {
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  it("asks that no API answer be stored by a cache: a project, a problem, the caller's session", async () => {
    const project = await bff.newProject();
    for (const res of [
      await bff.request("GET", `/api/v1/projects/${project.id}`),
      await bff.request("GET", "/api/v1/me"),
      await bff.request("GET", "/api/v1/projects/prj_missing"),
      await bff.requestAs(null, "GET", "/api/v1/projects"),
    ]) {
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});

describe("secrets", () => {
  it("never appear in the logs", async () => {
    const linkToken = await bff.services.auth.createLoginLink(alice.id);
    const login = await logIn({ login_token: linkToken });
    const cookie = sessionCookieOf(login);
    const apiToken = await bff.services.auth.createApiToken(alice.id, "logged?");
    await bff.requestAs(null, "GET", "/api/v1/me", undefined, { authorization: `Bearer ${apiToken}` });
    await bff.requestAs(null, "GET", "/api/v1/me", undefined, { authorization: "Bearer pwc_wrong-token-value" });
    await logIn({ username: "alice", password: "a-password-to-spot" });
    const project = await bff.newProject({ name: "Secretive", startup_script: script });
    const rotated = await (await bff.request("POST", `/api/v1/projects/${project.id}/webhook-secret`)).json();
    const body = JSON.stringify({ ref: "refs/heads/main", after: "abcdef1234567" });
    await bff.requestAs(null, "POST", `/api/v1/webhooks/github/${project.id}`, body, {
      "x-github-event": "push",
      "x-hub-signature-256": signature(rotated.secret, body),
    });
    const logs = logLines.join("");
    expect(logs).toContain("request");
    for (const secret of [
      linkToken,
      cookie.split("=")[1],
      apiToken,
      "pwc_wrong-token-value",
      "a-password-to-spot",
      rotated.secret,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe("the first start", () => {
  it("makes an owner with a one-time login link, gives them ownerless projects, and only once", async () => {
    const fresh = await createTestBff({ monitor: false });
    try {
      // createTestBff makes a user; start from none, as a new installation does.
      await fresh.sql.query("DELETE FROM users");
      const old = await fresh.services.store.createProject({ name: "From before owners", startup_script: script });
      const first = await bootstrapOwner(fresh.services.auth, "owner", "http://127.0.0.1:7070");
      expect(first.loginLink).toMatch(/^http:\/\/127\.0\.0\.1:7070\/login#token=[\w-]{40,}$/);
      expect(first.adopted).toBe(1);
      const token = first.loginLink?.split("#token=")[1] ?? "";
      const login = await fresh.requestAs(null, "POST", "/api/v1/auth/login", { login_token: token });
      expect((await login.json()).user.name).toBe("owner");
      const cookie = sessionCookieOf(login);
      const seen = await fresh.requestAs(null, "GET", `/api/v1/projects/${old.id}`, undefined, { cookie });
      expect(seen.status).toBe(200);
      const second = await bootstrapOwner(fresh.services.auth, "owner", "http://127.0.0.1:7070");
      expect(second.loginLink).toBeNull();
    } finally {
      await fresh.close();
    }
  });
});
