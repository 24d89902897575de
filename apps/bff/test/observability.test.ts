// What operators see: metrics for the metrics token only, one access line per request with its
// request ID (forwarded to the sandbox), and an audit line for each act that changes who may do
// what or destroys data. Never a secret in any of them.
import { Writable } from "node:stream";
import { pino } from "pino";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { script, type TestUser, useMockSandbox, useTestBff } from "./helpers.ts";

const metricsToken = "m".repeat(40);
const sandboxRequestIds: (string | null)[] = [];
const sandbox = useMockSandbox({ onRequest: (request) => sandboxRequestIds.push(request.headers.get("x-request-id")) });
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    lines.push(JSON.parse(String(chunk)));
    done();
  },
});
const bff = useTestBff({
  logger: pino({ level: "info" }, sink),
  metrics: { token: metricsToken, port: null, host: "127.0.0.1" },
});
let alice: TestUser;

beforeAll(async () => {
  alice = await bff.addUser("alice", "correct horse battery");
});
beforeEach(() => {
  lines.length = 0;
  sandboxRequestIds.length = 0;
});

async function scrape(authorization?: string): Promise<Response> {
  return bff.app.request("/metrics", { headers: authorization ? { authorization } : {} });
}

/** The value of one sample in Prometheus text, or 0 when it is not there yet. */
async function sample(name: string, labels = ""): Promise<number> {
  const text = await (await scrape(`Bearer ${metricsToken}`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("/metrics", () => {
  it("is for the metrics token only: not anonymous, not a user's API token", async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape(`Bearer ${bff.owner.token}`)).status).toBe(401);
    const res = await scrape(`Bearer ${metricsToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it("counts builds by trigger and outcome, with their duration", async () => {
    const project = await bff.newProject({ name: "Counted" });
    const started = await sample("prewarm_builds_started_total", 'trigger="manual"');
    const ended = await sample("prewarm_builds_ended_total", 'trigger="manual",outcome="succeeded"');
    const durations = await sample("prewarm_build_duration_seconds_count", 'outcome="succeeded"');
    const res = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {});
    expect(res.status).toBe(202);
    const { build } = await res.json();
    expect(await sample("prewarm_builds_started_total", 'trigger="manual"')).toBe(started + 1);
    sandbox.finishBuild(build.id);
    await expect
      .poll(() => sample("prewarm_builds_ended_total", 'trigger="manual",outcome="succeeded"'))
      .toBe(ended + 1);
    expect(await sample("prewarm_build_duration_seconds_count", 'outcome="succeeded"')).toBe(durations + 1);
  });

  it("counts a queued follow-up's start and how long it waited", async () => {
    const project = await bff.newProject({ name: "Queued" });
    const waits = await sample("prewarm_build_queue_wait_seconds_count");
    const first = await (await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {})).json();
    const queued = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {});
    expect((await queued.json()).queued).toBe(true);
    sandbox.finishBuild(first.build.id);
    await expect.poll(() => sample("prewarm_build_queue_wait_seconds_count")).toBe(waits + 1);
  });

  it("counts HTTP requests by route pattern, not by project, and failed logins by reason", async () => {
    const project = await bff.newProject({ name: "Routed" });
    const route = 'method="GET",route="/api/v1/projects/:project_id",status="200"';
    const before = await sample("prewarm_http_requests_total", route);
    await bff.request("GET", `/api/v1/projects/${project.id}`);
    expect(await sample("prewarm_http_requests_total", route)).toBe(before + 1);
    const failures = await sample("prewarm_login_failures_total", 'reason="wrong_credentials"');
    await bff.requestAs(null, "POST", "/api/v1/auth/login", { username: "alice", password: "wrong" });
    expect(await sample("prewarm_login_failures_total", 'reason="wrong_credentials"')).toBe(failures + 1);
    expect(await sample("prewarm_sandbox_reachable")).toBe(1);
  });
});

describe("access lines", () => {
  it("log one line per request with its request ID, route and status, and send the ID to the sandbox", async () => {
    const project = await bff.newProject({ name: "Traced" });
    lines.length = 0;
    sandboxRequestIds.length = 0;
    const res = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {});
    expect(res.status).toBe(202);
    const reqId = res.headers.get("x-request-id");
    expect(reqId).toMatch(/^[\w-]{8,}$/);
    const access = lines.filter((l) => l.msg === "request");
    expect(access).toEqual([
      expect.objectContaining({
        level: 30,
        reqId,
        method: "POST",
        route: "/api/v1/projects/:project_id/docker-cache/builds",
        path: `/api/v1/projects/${project.id}/docker-cache/builds`,
        status: 202,
        ms: expect.any(Number),
      }),
    ]);
    // The build was sent to the sandbox while answering: the sandbox saw the same ID.
    expect(sandboxRequestIds).toContain(reqId);
    expect(JSON.stringify(lines)).not.toContain(bff.owner.token);
  });
});

describe("audit lines", () => {
  const audits = () => lines.filter((l) => l.audit === true);

  it("name who logged in or failed to, and never the password", async () => {
    await bff.requestAs(null, "POST", "/api/v1/auth/login", { username: "alice", password: "not hers" });
    await bff.requestAs(null, "POST", "/api/v1/auth/login", { username: "alice", password: "correct horse battery" });
    expect(audits()).toEqual([
      expect.objectContaining({ action: "login_failed", user: "alice", with: "password", reqId: expect.any(String) }),
      expect.objectContaining({ action: "login", actor: "alice", with: "password" }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("correct horse");
    expect(JSON.stringify(lines)).not.toContain("not hers");
  });

  it("record members added and removed, a webhook secret rotated and a cache deleted, by whom", async () => {
    const project = await bff.newProject({ name: "Audited", startup_script: script });
    lines.length = 0;
    expect((await bff.request("PUT", `/api/v1/projects/${project.id}/members/alice`)).status).toBe(200);
    expect((await bff.request("DELETE", `/api/v1/projects/${project.id}/members/alice`)).status).toBe(200);
    const rotated = await bff.request("POST", `/api/v1/projects/${project.id}/webhook-secret`);
    const { secret } = await rotated.json();
    expect((await bff.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`)).status).toBe(200);
    const where = { actor: "owner", project_id: project.id };
    expect(audits()).toEqual([
      expect.objectContaining({ action: "member_added", member: "alice", ...where }),
      expect.objectContaining({ action: "member_removed", member: "alice", ...where }),
      expect.objectContaining({ action: "webhook_secret_rotated", ...where }),
      expect.objectContaining({ action: "docker_cache_deleted", ...where }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it("are not written for what was refused", async () => {
    const project = await bff.newProject({ name: "Refused" });
    expect((await bff.requestAs(alice, "PUT", `/api/v1/projects/${project.id}/members/alice`)).status).toBe(404);
    expect((await bff.request("PUT", `/api/v1/projects/${project.id}/members/nobody`)).status).toBe(404);
    expect(audits()).toEqual([]);
  });
});
