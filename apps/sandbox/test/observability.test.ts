// What operators see of the golden filesystem service: metrics for the metrics token only (not the
// service's own token), one access line per request under the caller's request ID, and runs cut
// short by a shutdown reported as interrupted rather than stopped.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";

const token = "s".repeat(40);
const metricsToken = "m".repeat(40);
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    lines.push(JSON.parse(String(chunk)));
    done();
  },
});
let sandbox: TestSandbox;

beforeEach(async () => {
  lines.length = 0;
  sandbox = await createTestSandbox({ token, metricsToken, logger: pino({ level: "info" }, sink) });
});
afterEach(async () => {
  await sandbox.close();
});

const scrape = (authorization?: string) =>
  sandbox.app.request("/metrics", { headers: authorization ? { authorization } : {} });

async function sample(name: string, labels = ""): Promise<number> {
  const text = await (await scrape(`Bearer ${metricsToken}`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const writeLayer = (kb: number) =>
  `dd if=/dev/urandom of="$HELIX_DOCKER_DATA_ROOT/layer" bs=1024 count=${kb} status=none`;

describe("/metrics", () => {
  it("answers the metrics token, not the service's token, and 404 where none is configured", async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape(`Bearer ${token}`)).status).toBe(401);
    expect((await scrape(`Bearer ${metricsToken}`)).status).toBe(200);
    const without = await createTestSandbox({ token });
    try {
      expect((await without.app.request("/metrics", { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        404,
      );
    } finally {
      await without.close();
    }
  });

  it("counts runs by outcome, golden bytes per project and in all, copies and free space", async () => {
    const succeeded = await sample("prewarm_sandbox_runs_total", 'kind="build",outcome="succeeded"');
    const copies = await sample("prewarm_copy_duration_seconds_count", 'purpose="session"');
    const copied = await sample("prewarm_copy_bytes_total", 'purpose="session"');
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: writeLayer(64) });
    const build = await sandbox.waitForBuild("b1");
    expect(build.status).toBe("succeeded");
    expect(await sample("prewarm_sandbox_runs_total", 'kind="build",outcome="succeeded"')).toBe(succeeded + 1);
    expect(await sample("prewarm_golden_bytes", 'project_id="p1"')).toBe(build.size_bytes);
    expect(await sample("prewarm_goldens_bytes")).toBe(build.size_bytes);
    expect(await sample("prewarm_root_free_bytes")).toBeGreaterThan(0);

    expect((await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).status).toBe(201);
    expect(await sample("prewarm_copy_duration_seconds_count", 'purpose="session"')).toBe(copies + 1);
    expect(await sample("prewarm_copy_bytes_total", 'purpose="session"')).toBe(copied + (build.size_bytes ?? 0));
  });

  it("counts evictions", async () => {
    await sandbox.close();
    sandbox = await createTestSandbox({ token, metricsToken, goldenQuotaBytes: 100 * 1024 });
    const before = await sample("prewarm_evictions_total");
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: writeLayer(64) });
    await sandbox.waitForBuild("b1");
    await sandbox.startBuild({ build_id: "b2", project_id: "p2", startup_script: writeLayer(64) });
    expect((await sandbox.waitForBuild("b2")).status).toBe("succeeded");
    expect(await sample("prewarm_evictions_total")).toBe(before + 1);
    expect(await sample("prewarm_golden_bytes", 'project_id="p1"')).toBe(0);
  });
});

describe("access lines", () => {
  it("carry the request ID the caller sent, and never the token", async () => {
    const res = await sandbox.app.request("/v1/goldens/p1", {
      headers: { authorization: `Bearer ${token}`, "x-request-id": "from-the-bff-1234" },
    });
    expect(res.headers.get("x-request-id")).toBe("from-the-bff-1234");
    expect(lines.filter((l) => l.msg === "request")).toEqual([
      expect.objectContaining({
        level: 30,
        reqId: "from-the-bff-1234",
        method: "GET",
        route: "/v1/goldens/:project_id",
        status: 200,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});

describe("a shutdown", () => {
  it("reports the builds it cut short as interrupted, with the reason in their log", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "echo waiting; sleep 60" });
    await expect.poll(async () => (await sandbox.request("GET", "/v1/builds/b1/log")).text()).toContain("waiting");
    await sandbox.services.builds.stopAll();
    const build = await sandbox.waitForBuild("b1");
    expect(build).toMatchObject({ status: "interrupted", error: "Build interrupted: the sandbox was shut down" });
    expect(await (await sandbox.request("GET", "/v1/builds/b1/log")).text()).toContain("the sandbox was shut down");
    expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).exists).toBe(false);
  });
});
