// [Test] runs: the startup script in an ordinary session whose Docker directory is a copy of the
// golden, with how long the preparation took; the golden is never written, the session's
// directory goes when the run ends, and the log stays.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestSandbox, manifest, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;
beforeEach(async () => {
  sandbox = await createTestSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

const statusOf = async (id: string): Promise<string> =>
  (await (await sandbox.request("GET", `/v1/test-sessions/${id}`)).json()).status;

/** The run once its status says `until` (by default: once it has ended). */
async function waitForRun(id: string, until = /^(succeeded|failed|stopped|interrupted)$/) {
  await expect.poll(() => statusOf(id), { timeout: 30_000 }).toMatch(until);
  return (await sandbox.request("GET", `/v1/test-sessions/${id}`)).json();
}

const probe = [
  'echo "golden=$HELIX_GOLDEN_BUILD session=$HELIX_SESSION_ID build=$(printenv HELIX_BUILD_ID || echo none)"',
  'cat "$HELIX_DOCKER_DATA_ROOT/layer"',
  'echo changed > "$HELIX_DOCKER_DATA_ROOT/layer"',
].join("\n");

describe("a test session", () => {
  it("runs the script on a copy of the golden, says how it was prepared, and leaves the golden alone", async () => {
    await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      startup_script: 'echo cached > "$HELIX_DOCKER_DATA_ROOT/layer"',
    });
    expect((await sandbox.waitForBuild("b1")).status).toBe("succeeded");
    const golden = await manifest(path.join(sandbox.root, "goldens", "p1", "generations"));

    const started = await sandbox.request("POST", "/v1/test-sessions", {
      session_id: "t1",
      project_id: "p1",
      startup_script: probe,
    });
    expect(started.status).toBe(202);
    expect((await started.json()).status).toBe("preparing");
    const run = await waitForRun("t1");
    expect(run).toMatchObject({
      status: "succeeded",
      exit_code: 0,
      error: null,
      prepared: { source: "golden", golden_build_id: "b1", size_bytes: expect.any(Number) },
    });
    expect(run.prepared.seconds).toBeGreaterThanOrEqual(0);
    const log = await (await sandbox.request("GET", "/v1/test-sessions/t1/log")).text();
    expect(log).toMatch(/Docker data prepared from cache in [\d.]+ s/);
    expect(log).toContain("golden=false session=t1 build=none");
    expect(log).toContain("cached");
    // The golden is as it was, and the session's directory is gone; the record stays.
    expect(await manifest(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual(golden);
    expect(await readdir(path.join(sandbox.root, "sessions"))).toEqual([]);
    expect((await sandbox.request("GET", "/v1/test-sessions/t1")).status).toBe(200);
  });

  it("starts empty without a golden, and reports a failing script", async () => {
    await sandbox.request("POST", "/v1/test-sessions", {
      session_id: "t2",
      project_id: "p2",
      startup_script: "echo hi; exit 3",
    });
    const run = await waitForRun("t2");
    expect(run).toMatchObject({ status: "failed", exit_code: 3, prepared: { source: "empty", size_bytes: 0 } });
    expect(run.error).toBe("Startup script exited with code 3");
    expect(await (await sandbox.request("GET", "/v1/test-sessions/t2/log")).text()).toContain(
      "No cache: started with an empty Docker directory",
    );
  });

  it("stops, refuses a second run of one session, and answers unknown runs with 404", async () => {
    await sandbox.request("POST", "/v1/test-sessions", {
      session_id: "t3",
      project_id: "p3",
      startup_script: "sleep 30",
    });
    await waitForRun("t3", /^running$/);
    const stopped = await sandbox.request("POST", "/v1/test-sessions/t3/stop");
    expect(await stopped.json()).toMatchObject({ status: "stopped", error: "Stopped" });
    const again = await sandbox.request("POST", "/v1/test-sessions", {
      session_id: "t3",
      project_id: "p3",
      startup_script: "true",
    });
    expect(again.status).toBe(409);
    expect((await sandbox.request("GET", "/v1/test-sessions/nope")).status).toBe(404);
  });
});

it("keeps the newest 20 ended runs of a project, and another project's runs", async () => {
  await sandbox.request("POST", "/v1/test-sessions", { session_id: "other", project_id: "p9", startup_script: "true" });
  await waitForRun("other");
  for (let i = 0; i < 22; i++) {
    await sandbox.request("POST", "/v1/test-sessions", {
      session_id: `r${i}`,
      project_id: "p1",
      startup_script: "true",
    });
    await waitForRun(`r${i}`);
  }
  await sandbox.services.testSessions.prune("p1");
  const kept = (await readdir(path.join(sandbox.root, "test-sessions"))).sort();
  expect(kept).toHaveLength(21);
  expect(kept).toContain("other");
  expect(kept).not.toContain("r0");
  expect(kept).not.toContain("r1");
  expect(kept).toContain("r21");
  expect((await sandbox.request("GET", "/v1/test-sessions/r0")).status).toBe(404);
});
