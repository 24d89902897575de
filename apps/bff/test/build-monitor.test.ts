// The safety net under the event stream: reconciling running builds with the sandbox's truth.
import { mockDockerAvailability } from "@prewarm/mock-sandbox/model";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestBff, script, type TestBff, useMockSandbox } from "./helpers.ts";

/** Every build start the sandbox was sent, by the project it was for. */
const startsSent: string[] = [];
const sandbox = useMockSandbox({
  onRequest: async (request) => {
    if (request.method === "POST" && new URL(request.url).pathname === "/v1/builds") {
      startsSent.push(((await request.clone().json()) as { project_id: string }).project_id);
    }
  },
});
let bff: TestBff;

// A fresh BFF per test, with no event stream: only reconciling can learn what happened.
beforeEach(async () => {
  bff = await createTestBff({ monitor: false });
});
afterEach(async () => {
  await bff.close();
});

async function buildingProject() {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  await bff.request("PATCH", `/api/v1/projects/${project.id}`, { metadata: { auto_warm_docker_cache: true } });
  return project.id;
}

const state = async (id: string) => (await bff.services.store.getProject(id))?.metadata.docker_cache_state;

it("settles a build that ended while no event arrived", async () => {
  const id = await buildingProject();
  sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { sizeBytes: 123 });
  expect((await state(id))?.status).toBe("building");
  await bff.services.monitor.reconcile();
  expect(await state(id)).toMatchObject({ status: "ready", size_bytes: 123 });
});

it("leaves a build the sandbox is still running alone", async () => {
  const id = await buildingProject();
  await bff.services.monitor.reconcile();
  expect((await state(id))?.status).toBe("building");
});

it("fails a build the sandbox lost, with the reason", async () => {
  const id = await buildingProject();
  sandbox.reset();
  await bff.services.monitor.reconcile();
  expect(await state(id)).toMatchObject({ status: "failed", error: "The sandbox has no record of this build" });
});

it("sends a claimed build the sandbox never got, once its first sending can no longer be in flight", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  // What a BFF killed between claiming a build and sending it leaves behind.
  const claimed = await bff.services.transitions.trigger(project.id, "manual", null);
  if (claimed.kind !== "started") throw new Error(claimed.kind);
  await bff.services.monitor.reconcile();
  expect(sandbox.latestBuild(project.id)).toBeNull();
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '1 minute' WHERE id = $1", [claimed.build.id]);
  await bff.services.monitor.reconcile();
  expect(sandbox.latestBuild(project.id)).toMatchObject({ build_id: claimed.build.id, status: "running" });
  expect((await bff.services.store.runningBuilds())[0]?.dispatched).toBe(true);
  // Sending it again (another BFF did the same) is harmless.
  await bff.sql.query("UPDATE builds SET dispatched_at = NULL WHERE id = $1", [claimed.build.id]);
  await bff.services.monitor.reconcile();
  expect(sandbox.allBuilds().filter((b) => b.project_id === project.id)).toHaveLength(1);
  expect((await bff.services.store.runningBuilds())[0]?.dispatched).toBe(true);
});

it("waits for the sandbox to finish the project's previous build instead of failing the next one", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  // A build of the project the sandbox still runs, e.g. one the BFF already saw end.
  sandbox.startBuild({
    build_id: "bld_previous",
    project_id: project.id,
    startup_script: script,
    run_user: { uid: 200_000, subuid_start: 300_000_000, subuid_count: 65_536 },
  });
  const res = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, { trigger: "manual" });
  const { build } = await res.json();
  expect(await state(project.id)).toMatchObject({ status: "building", build_id: build.id });
  sandbox.finishBuild("bld_previous");
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '1 minute' WHERE id = $1", [build.id]);
  await bff.services.monitor.reconcile();
  expect(sandbox.getBuild(build.id)?.status).toBe("running");
  expect(await state(project.id)).toMatchObject({ status: "building", error: null });
});

it("sends a build again once an unreachable sandbox is back", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  sandbox.online = false;
  const res = await bff.request("PATCH", `/api/v1/projects/${project.id}`, {
    metadata: { auto_warm_docker_cache: true },
  });
  expect((await res.json()).project.metadata.docker_cache_state.status).toBe("building");
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '30 seconds' WHERE project_id = $1", [
    project.id,
  ]);
  await bff.services.monitor.reconcile();
  expect((await state(project.id))?.status).toBe("building");
  sandbox.online = true;
  await bff.services.monitor.reconcile();
  expect(sandbox.latestBuild(project.id)?.status).toBe("running");
});

it("fails a build the sandbox could not be reached for, and makes sure it never starts later", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  sandbox.online = false;
  await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, { trigger: "manual" });
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '10 minutes' WHERE project_id = $1", [
    project.id,
  ]);
  await bff.services.monitor.reconcile();
  expect(await state(project.id)).toMatchObject({ status: "failed" });
  expect((await state(project.id))?.error).toMatch(
    /^Could not start the build: the sandbox could not be reached for 10 min/,
  );
});

it("fails a build the sandbox refuses to run at once, with the sandbox's reason, and never sends it again", async () => {
  const detail = "rootless Docker daemons cannot run on this sandbox (newuidmap is missing)";
  sandbox.docker = { ...mockDockerAvailability, available: false, rootless: null, refuses_runs: true, detail };
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  const res = await bff.request("PATCH", `/api/v1/projects/${project.id}`, {
    metadata: { auto_warm_docker_cache: true },
  });
  const body = await res.json();
  expect(body.build_started).toBe(false);
  const failed = { status: "failed", error: `Could not start the build: This sandbox refuses runs: ${detail}` };
  expect(body.project.metadata.docker_cache_state).toMatchObject(failed);
  // Later looks at the sandbox leave it failed, and send nothing.
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '1 minute' WHERE project_id = $1", [project.id]);
  await bff.services.monitor.reconcile();
  await bff.services.monitor.reconcile();
  expect(await state(project.id)).toMatchObject(failed);
  expect(startsSent.filter((id) => id === project.id)).toHaveLength(1);
  const { builds } = await (await bff.request("GET", `/api/v1/projects/${project.id}/docker-cache/builds`)).json();
  expect(builds).toMatchObject([failed]);
  expect(sandbox.allBuilds().filter((b) => b.project_id === project.id && b.status === "running")).toEqual([]);
});

it("stops a build whose start is still on its way: it never runs", async () => {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  // Claimed, not yet sent (a BFF killed in between, or a send still in flight).
  const claimed = await bff.services.transitions.trigger(project.id, "manual", null);
  if (claimed.kind !== "started") throw new Error(claimed.kind);
  const res = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/stop`);
  expect((await res.json()).metadata.docker_cache_state.status).toBe("none");
  // The start arrives after the stop: the sandbox refuses it, and nothing runs.
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '1 minute', status = 'running' WHERE id = $1", [
    claimed.build.id,
  ]);
  await bff.sql.query("UPDATE projects SET cache_status = 'building', cache_build_id = $2 WHERE id = $1", [
    project.id,
    claimed.build.id,
  ]);
  await bff.services.monitor.reconcile();
  expect(sandbox.getBuild(claimed.build.id)?.status).toBe("stopped");
  // The next look at the sandbox settles the build as what it is there.
  await bff.services.monitor.reconcile();
  expect(await state(project.id)).toMatchObject({ status: "none" });
  expect(sandbox.allBuilds().filter((b) => b.project_id === project.id && b.status === "running")).toEqual([]);
});

it("stops a build the sandbox let run past its timeout", async () => {
  const id = await buildingProject();
  const buildId = sandbox.latestBuild(id)?.build_id ?? "";
  await bff.sql.query("UPDATE builds SET started_at = now() - interval '2 hours' WHERE id = $1", [buildId]);
  await bff.services.monitor.reconcile();
  expect(sandbox.getBuild(buildId)?.status).toBe("stopped");
  expect(await state(id)).toMatchObject({ status: "failed", error: "Build timed out after 30m" });
});

it("reports a build interrupted by a sandbox restart as failed, the golden still ready beside it", async () => {
  const id = await buildingProject();
  sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { sizeBytes: 500 });
  await bff.services.monitor.reconcile();
  await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
  sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { status: "interrupted" });
  await bff.services.monitor.reconcile();
  expect(await state(id)).toMatchObject({
    status: "failed",
    error: "Build interrupted by sandbox restart",
    size_bytes: 500,
  });
  expect((await state(id))?.last_ready_at).not.toBeNull();
});

it("keeps building while the sandbox cannot be reached, then settles when it is back", async () => {
  const id = await buildingProject();
  const buildId = sandbox.latestBuild(id)?.build_id ?? "";
  sandbox.finishBuild(buildId, { exitCode: 4 });
  sandbox.online = false;
  await bff.services.monitor.reconcile();
  expect((await state(id))?.status).toBe("building");
  sandbox.online = true;
  await bff.services.monitor.reconcile();
  expect(await state(id)).toMatchObject({ status: "failed", error: "Startup script exited with code 4" });
});
