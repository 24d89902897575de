// The golden quota: room for a new golden is made by evicting the least recently used goldens
// of other projects, never one that is being copied, and every eviction is an event.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { SequencedEvent } from "../src/events/event-bus.ts";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;
let events: SequencedEvent[];

beforeEach(async () => {
  sandbox = await createTestSandbox({ goldenQuotaBytes: 250_000 });
  events = [];
  sandbox.services.bus.subscribe((event) => events.push(event));
});
afterEach(async () => {
  await sandbox.close();
});

const golden = (bytes: number) => `head -c ${bytes} /dev/zero > "$HELIX_DOCKER_DATA_ROOT/layer"`;

async function build(projectId: string, buildId: string, bytes: number) {
  await sandbox.startBuild({ build_id: buildId, project_id: projectId, startup_script: golden(bytes) });
  return sandbox.waitForBuild(buildId);
}

const exists = async (projectId: string) =>
  (await (await sandbox.request("GET", `/v1/goldens/${projectId}`)).json()).exists;

it("evicts the least recently used golden of another project to make room, and says so", async () => {
  await build("p1", "b1", 100_000);
  await build("p2", "b2", 100_000);
  // p1 is used by a session after p2 was built, so p2 is the least recently used.
  await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });

  expect((await build("p3", "b3", 100_000)).status).toBe("succeeded");
  expect(await exists("p1")).toBe(true);
  expect(await exists("p2")).toBe(false);
  expect(await exists("p3")).toBe(true);
  const eviction = events.find((e) => e.event.type === "golden" && e.event.reason === "evicted");
  expect(eviction?.event).toMatchObject({
    golden: { project_id: "p2", exists: false },
    detail: expect.stringMatching(/^Evicted to free disk space/),
  });
  const list = await (await sandbox.request("GET", "/v1/goldens")).json();
  expect(list).toMatchObject({ used_bytes: 200_000, quota_bytes: 250_000 });
  expect(list.goldens.map((g: { project_id: string }) => g.project_id)).toEqual(["p1", "p3"]);
});

it("replaces a project's own golden without counting it twice", async () => {
  await build("p1", "b1", 200_000);
  expect((await build("p1", "b2", 200_000)).status).toBe("succeeded");
  expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).build_id).toBe("b2");
});

it("never evicts a golden that a copy is reading", async () => {
  await build("p1", "b1", 100_000);
  await build("p2", "b2", 100_000);
  // Hold p1's and p2's goldens as a session copy would.
  const pinned = await Promise.all(["p1", "p2"].map((p) => sandbox.services.goldens.pinCurrent(p)));
  const failed = await build("p3", "b3", 100_000);
  await Promise.all(pinned.map((p) => p.golden?.release()));
  expect(failed.status).toBe("failed");
  expect(failed.error).toMatch(/does not fit in this sandbox's golden quota/);
  expect(await exists("p1")).toBe(true);
  expect(await exists("p2")).toBe(true);
  expect(await exists("p3")).toBe(false);
});

it("fails a golden larger than the whole quota, keeping the previous one", async () => {
  await build("p1", "b1", 100_000);
  const failed = await build("p1", "b2", 300_000);
  expect(failed).toMatchObject({
    status: "failed",
    error: expect.stringMatching(/larger than this sandbox's golden quota/),
  });
  expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).build_id).toBe("b1");
});
