import { expect, test } from "../fixtures.ts";

test("Stop ends the build and the status returns to what the cache really is", async ({
  buildingProject,
  mockSandbox,
}) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await expect(settingsPage.status).toHaveText("Building… Started just now");

  await settingsPage.button("Stop").click();
  await expect(settingsPage.status).toHaveText("No cache yet — will build on next merge");
  expect((await mockSandbox.latestBuild(projectId)).status).toBe("stopped");
  expect((await mockSandbox.latestBuild(projectId)).build_id).toBe(build.build_id);
  await settingsPage.snapshot("06-stopped");
});

test("Stopping a rebuild keeps the cache sessions use", async ({ buildingProject, mockSandbox, request }) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 8_700_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 8.7 GB/);

  // A merge to main starts a rebuild; the current cache is shown beside it.
  await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: "abc1234" } });
  await expect(settingsPage.status).toHaveText(/^Building…/);
  const rebuild = await mockSandbox.nextBuild(projectId, build.build_id);
  await expect(settingsPage.page.getByText(/Current cache: 8.7 GB, built just now/)).toBeVisible();
  await settingsPage.snapshot("07-rebuilding-beside-cache");

  await settingsPage.button("Stop").click();
  await expect(settingsPage.status).toHaveText(/^Ready · 8.7 GB/);
  expect((await mockSandbox.latestBuild(projectId)).build_id).toBe(rebuild.build_id);
  expect((await mockSandbox.latestBuild(projectId)).status).toBe("stopped");
});
