// The safety net under the event stream: reconciling running builds with the sandbox's truth.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createPgliteClient, type SqlClient } from "../src/store/sql-client.ts";
import { createTestBff, script, type TestBff, useMockSandbox } from "./helpers.ts";

const sandbox = useMockSandbox();
let sql: SqlClient;
let bff: TestBff;

beforeEach(async () => {
  sql = await createPgliteClient(null);
  // No event stream: only reconciling can learn what happened.
  bff = await createTestBff({ sql, monitor: false });
});
afterEach(async () => {
  await bff.close();
  await sql.close();
});

async function buildingProject() {
  const project = await bff.services.store.createProject({ name: "Shop", startup_script: script });
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

it("fails a build the sandbox has no record of, once its start can no longer be in flight", async () => {
  const id = await buildingProject();
  sandbox.reset();
  await bff.services.monitor.reconcile();
  expect((await state(id))?.status).toBe("building");
  await sql.query("UPDATE builds SET started_at = now() - interval '5 minutes' WHERE project_id = $1", [id]);
  await bff.services.monitor.reconcile();
  expect(await state(id)).toMatchObject({ status: "failed", error: "The sandbox has no record of this build" });
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
