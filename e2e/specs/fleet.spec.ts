// The fleet on the page, against two mock sandboxes (sbx-1, SANDBOX_URL's, and sbx-2, registered
// as an operator would) and a BFF of their own: a build runs on one, the other fetches the golden
// with progress, a sandbox that drops off the network is shown as such, not hidden, and one
// fetching a newer cache says what its sessions start from meanwhile, and why the fetch failed.
// Photographed and checked by axe in each state.
import { MockSandboxControl } from "../../packages/mock-sandbox/src/control-client.ts";
import { expect, settingsOfNewProject, snapshot, test } from "../fixtures.ts";
import { ports } from "../ports.ts";

const baseURL = `http://127.0.0.1:${ports.fleetBff}`;
const sbx1 = new MockSandboxControl(`http://127.0.0.1:${ports.fleetSandbox1}`);
const sbx2 = new MockSandboxControl(`http://127.0.0.1:${ports.fleetSandbox2}`);

test.afterAll(async () => {
  await sbx2.setOnline(true);
});

test("a build on one sandbox is replicated to the other, with progress; an unreachable sandbox is shown", async ({
  browser,
  playwright,
}) => {
  const settingsPage = await settingsOfNewProject(browser, playwright, baseURL);
  const { page, projectId } = settingsPage;
  await settingsPage.turnOn();
  // The build's toast is dismissed, so the photographs show the fleet rather than it.
  await expect(page.getByText(/^Docker cache build started/)).toBeVisible();
  await page.getByRole("button", { name: "Close" }).click();
  await expect(page.getByText(/^Docker cache build started/)).toBeHidden();
  // Both idle: the build goes to the first by label, and only there.
  const build = await sbx1.latestBuild(projectId);
  expect(await sbx2.builds(projectId)).toEqual([]);
  await sbx1.finishBuild(build.build_id, { sizeBytes: 900_000_000 });

  const replication = await sbx2.replication(projectId);
  expect(replication).toMatchObject({ build_id: build.build_id, state: "receiving" });
  await sbx2.replicationProgress(projectId, 0.62, 900_000_000);
  await expect(settingsPage.status).toHaveText(
    /^Ready on 1 of 2 sandboxes · 900 MB · Updated (just now|\d+s ago) · replicating to sbx-2, 62%$/,
  );
  const table = page.getByRole("table", { name: "The cache on each sandbox" });
  await expect(table.getByRole("row", { name: /^sbx-1/ })).toContainText("Ready");
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText("Replicating, 62%");
  await snapshot(page, "34-fleet-replicating");

  await sbx2.promoteReplication(projectId, 900_000_000);
  await expect(settingsPage.status).toHaveText(/^Ready on 2 of 2 sandboxes · 900 MB · Updated/);
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText("Ready");

  await sbx2.setOnline(false);
  await expect(settingsPage.status).toHaveText(
    /^Ready on 1 of 2 sandboxes · 900 MB · Updated .* · sbx-2 cannot be reached$/,
  );
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText("Cannot be reached");
  await snapshot(page, "35-fleet-sandbox-unreachable");
  await sbx2.setOnline(true);
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText("Ready", { timeout: 20_000 });

  // A merge to main: the next build goes to sbx-1 (both hold the cache; the first by label), and
  // while sbx-2 fetches it, its sessions start from the cache it holds, one merge behind.
  const merged = await page.request.post(`${baseURL}/api/v1/projects/${projectId}/main-changed`, {
    headers: { origin: baseURL },
    data: { commit_sha: "abc1234def" },
  });
  expect(merged.status()).toBe(202);
  const next = await sbx1.nextBuild(projectId, build.build_id);
  expect(await sbx2.builds(projectId)).toEqual([]);
  await sbx1.finishBuild(next.build_id, { sizeBytes: 950_000_000 });
  await expect.poll(async () => (await sbx2.replication(projectId)).build_id).toBe(next.build_id);
  await sbx2.replicationProgress(projectId, 0.3, 950_000_000);
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText(
    "Replicating, 30%; sessions start from an older cache (1 merge behind main) meanwhile",
  );
  await expect(settingsPage.status).toHaveText(
    /^Ready on 1 of 2 sandboxes · 950 MB · Updated .* · replicating to sbx-2, 30%$/,
  );
  await snapshot(page, "36-fleet-replicating-newer");

  // The fetch fails: the reason is shown, and sessions there still start from the older cache.
  await sbx2.failReplication(projectId, "No room for the golden on this sandbox (quota 1 GB)");
  await expect(table.getByRole("row", { name: /^sbx-2/ })).toContainText(
    "Replication failed; tried again later. Meanwhile sessions start from an older cache (1 merge behind main)No room for the golden on this sandbox (quota 1 GB)",
  );
  await expect(settingsPage.status).toHaveText(/^Ready on 1 of 2 sandboxes · 950 MB · Updated .*$/);
  await snapshot(page, "37-fleet-replication-failed");
});
