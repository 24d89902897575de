// [Test] sessions through the BFF: the saved script (or the text sent) runs in a session the
// sandbox prepares from the golden; a project's sessions are reachable only through it.
import { loadContract } from "@prewarm/api-types/contract";
import { mockDockerAvailability, mockDockerEngine } from "@prewarm/mock-sandbox/model";
import { expect, it, vi } from "vitest";
import { onlyHost, script, useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const bff = useTestBff({ monitor: false });
const contract = loadContract("bff");

it("runs the saved script, or the text sent, on a copy of the golden, and reports its preparation", async () => {
  const project = await bff.newProject({
    name: "Shop",
    startup_script: script,
    repository_url: "https://git.example/shop.git",
  });
  sandbox.setGolden(project.id, 8_700_000_000);
  const started = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
  expect(started.status).toBe(202);
  const session = await started.json();
  expect(session).toMatchObject({ project_id: project.id, status: "preparing", total_bytes: 8_700_000_000 });
  expect(session.session_id).toMatch(/^tst_/);
  expect(sandbox.testSessions.request(session.session_id)).toMatchObject({
    startup_script: script,
    repository_url: "https://git.example/shop.git",
    branch: "main",
  });

  sandbox.testSessions.prepare(session.session_id, { seconds: 1.2 });
  sandbox.testSessions.emitLog(session.session_id, "Step 1/4\r\n");
  sandbox.testSessions.finish(session.session_id, 0);
  const url = `/api/v1/projects/${project.id}/test-sessions/${session.session_id}`;
  expect(await (await bff.request("GET", url)).json()).toMatchObject({
    status: "succeeded",
    prepared: { source: "golden", seconds: 1.2, size_bytes: 8_700_000_000 },
  });
  expect(await (await bff.request("GET", `${url}/log`)).text()).toBe("Step 1/4\r\n");

  const edited = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`, {
    startup_script: "echo draft",
  });
  expect(sandbox.testSessions.request((await edited.json()).session_id)?.startup_script).toBe("echo draft");
});

it("refuses without a script, and never shows one project's session through another", async () => {
  const empty = await bff.newProject({ name: "Empty", startup_script: "" });
  const refused = await bff.request("POST", `/api/v1/projects/${empty.id}/test-sessions`);
  expect(refused.status).toBe(422);
  expect((await refused.json()).code).toBe("startup_script_required");

  const mine = await bff.newProject({ name: "Mine", startup_script: script });
  const session = await (await bff.request("POST", `/api/v1/projects/${mine.id}/test-sessions`)).json();
  for (const path of ["", "/log"]) {
    const res = await bff.request("GET", `/api/v1/projects/${empty.id}/test-sessions/${session.session_id}${path}`);
    expect(res.status).toBe(404);
  }
  const stop = await bff.request("POST", `/api/v1/projects/${empty.id}/test-sessions/${session.session_id}/stop`);
  expect(stop.status).toBe(404);
  expect(sandbox.testSessions.get(session.session_id)?.status).toBe("running");
  const stopped = await bff.request("POST", `/api/v1/projects/${mine.id}/test-sessions/${session.session_id}/stop`);
  expect(await stopped.json()).toMatchObject({ status: "stopped" });
});

it("answers a test session the sandbox refuses to run with the sandbox's reason", async () => {
  const detail = "rootless Docker daemons cannot run on this sandbox (newuidmap is missing)";
  sandbox.docker = { ...mockDockerAvailability, available: false, rootless: null, refuses_runs: true, detail };
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  const refused = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
  expect(refused.status).toBe(502);
  expect(refused.headers.get("content-type")).toBe("application/problem+json");
  expect(await refused.json()).toMatchObject({ code: "runs_refused", detail: `This sandbox refuses runs: ${detail}` });
  expect(sandbox.testSessions.latest(project.id)).toBeNull();
});

it("says a session recorded before daemons were rootless had a root daemon", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  const session = await (await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`)).json();
  expect(session.docker_engine).toEqual({ ...mockDockerEngine, rootless: true });
  // What a sandbox of an earlier release answers: its engine says nothing of rootless.
  const { rootless: _, ...recorded } = mockDockerEngine;
  vi.spyOn(onlyHost(bff).client, "getTestSession").mockResolvedValueOnce({
    ...session,
    docker_engine: recorded as typeof mockDockerEngine,
  });
  const res = await bff.request("GET", `/api/v1/projects/${project.id}/test-sessions/${session.session_id}`);
  const answered = await res.json();
  expect(contract.validateSchema("TestSession", answered)).toEqual({ ok: true, value: answered });
  expect(answered.docker_engine).toEqual({ ...mockDockerEngine, rootless: false });
});
