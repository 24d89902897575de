// The mock sandbox's Docker states as a client sees them through the contract's operations: what
// GET /v1/docker says, the daemon each run gets, and starts refused while the sandbox refuses runs.
import { getResponse } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import { createSandboxHandlers } from "./handlers.ts";
import { MockSandbox, mockDockerAvailability, mockDockerEngine } from "./mock-sandbox.ts";

const baseUrl = "http://sandbox.test";
const runUser = { uid: 200_000, subuid_start: 300_000_000, subuid_count: 65_536 };
const sandbox = new MockSandbox();
const handlers = createSandboxHandlers(sandbox, baseUrl);

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const request = new Request(`${baseUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const response = await getResponse(handlers, request);
  if (!response) throw new Error(`no handler for ${method} ${path}`);
  return response;
}

const startBuild = (id: string, extra: object = { run_user: runUser }) =>
  call("POST", "/v1/builds", { build_id: id, project_id: "prj_shop", startup_script: "make", ...extra });
const startTestSession = (id: string) =>
  call("POST", "/v1/test-sessions", {
    session_id: id,
    project_id: "prj_shop",
    startup_script: "make",
    run_user: runUser,
  });

beforeEach(() => sandbox.reset());

describe("the mock sandbox's Docker daemons", () => {
  it("gives every run a rootless daemon of its project's own user unless told otherwise", async () => {
    expect(await (await call("GET", "/v1/docker")).json()).toEqual({
      available: true,
      detail: null,
      rootless: true,
      projects_isolated: true,
      refuses_runs: false,
    });
    expect((await (await startBuild("bld_1")).json()).docker_engine).toEqual(mockDockerEngine);
    expect((await (await startTestSession("tst_1")).json()).docker_engine).toEqual(mockDockerEngine);
  });

  it("gives runs a root daemon where told that daemons are not rootless", async () => {
    sandbox.docker = { ...mockDockerAvailability, rootless: false };
    expect((await (await startBuild("bld_1")).json()).docker_engine).toEqual({ ...mockDockerEngine, rootless: false });
  });

  it("refuses builds and test sessions with a 503 problem saying why, and runs nothing", async () => {
    const detail = "rootless Docker daemons cannot run on this sandbox (newuidmap is missing)";
    sandbox.docker = { available: false, detail, rootless: null, projects_isolated: true, refuses_runs: true };
    for (const refused of [await startBuild("bld_1"), await startTestSession("tst_1")]) {
      expect(refused.status).toBe(503);
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
      expect(await refused.json()).toMatchObject({
        status: 503,
        code: "runs_refused",
        detail: `This sandbox refuses runs: ${detail}`,
      });
    }
    expect(sandbox.allBuilds()).toEqual([]);
    expect(sandbox.testSessions.latest("prj_shop")).toBeNull();
  });

  it("refuses a start without the project's user, as the real service does", async () => {
    const refused = await startBuild("bld_1", {});
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: "invalid_request", detail: expect.stringMatching(/run_user/) });
    expect(sandbox.allBuilds()).toEqual([]);
  });
});
