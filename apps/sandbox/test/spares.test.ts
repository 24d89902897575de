// Spare copies: a session takes a ready, complete copy of the current generation, and spares of
// a generation that is no longer current never reach anyone.
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestSandbox, listDir, manifest, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;

beforeEach(async () => {
  sandbox = await createTestSandbox({ spareCopies: 1 });
});
afterEach(async () => {
  await sandbox.close();
});

const sparesOf = (projectId: string) => listDir(path.join(sandbox.root, "goldens", projectId, "spares"));

async function build(buildId: string, content: string) {
  await sandbox.startBuild({
    build_id: buildId,
    project_id: "p1",
    startup_script: `mkdir -p "$HELIX_DOCKER_DATA_ROOT/d" && echo ${content} > "$HELIX_DOCKER_DATA_ROOT/d/f"`,
  });
  expect((await sandbox.waitForBuild(buildId)).status).toBe("succeeded");
  await sandbox.services.spares.settled();
}

it("keeps a ready copy of the current golden, and a session takes it whole", async () => {
  await build("b1", "one");
  const [spare] = await sparesOf("p1");
  expect(spare).toMatch(/^b1\./);
  const res = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
  const session = await res.json();
  expect(session).toMatchObject({ source: "golden", golden_build_id: "b1", status: "ready" });
  expect(await manifest(session.docker_dir)).toEqual(
    await manifest(path.join(sandbox.root, "goldens", "p1", "generations", "b1", "docker")),
  );
  // The taken spare is replaced by a new one.
  await sandbox.services.spares.settled();
  const after = await sparesOf("p1");
  expect(after).toHaveLength(1);
  expect(after[0]).not.toBe(spare);
});

it("drops spares of a golden that was replaced or deleted", async () => {
  await build("b1", "one");
  await build("b2", "two");
  const spares = await sparesOf("p1");
  expect(spares).toHaveLength(1);
  expect(spares[0]).toMatch(/^b2\./);
  const session = await (await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).json();
  expect(session.golden_build_id).toBe("b2");
  expect(await manifest(session.docker_dir)).toEqual(
    await manifest(path.join(sandbox.root, "goldens", "p1", "generations", "b2", "docker")),
  );

  await sandbox.request("DELETE", "/v1/goldens/p1");
  await sandbox.services.spares.settled();
  expect(await listDir(path.join(sandbox.root, "goldens"))).toEqual([]);
});

it("starts an incremental build from a spare", async () => {
  await build("b1", "one");
  await sandbox.startBuild({
    build_id: "b2",
    project_id: "p1",
    startup_script: 'test "$(cat "$HELIX_DOCKER_DATA_ROOT/d/f")" = one',
  });
  expect((await sandbox.waitForBuild("b2")).status).toBe("succeeded");
  const log = await (await sandbox.request("GET", "/v1/builds/b2/log")).text();
  expect(log).toContain("Took a ready copy of it");
});
