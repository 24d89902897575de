import { expect, test } from "../fixtures.ts";

test("Stop ends the build and the status returns to what the cache really is", async ({
  createProject,
  settings,
  mockSandbox,
}) => {
  const projectId = await createProject();
  const settingsPage = await settings(projectId);
  await settingsPage.toggle.click();
  await expect(settingsPage.status).toHaveText("Building… Started just now");
  const build = await mockSandbox.latestBuild(projectId);

  await settingsPage.button("Stop").click();
  await expect(settingsPage.status).toHaveText("No cache yet — will build on next merge");
  expect((await mockSandbox.latestBuild(projectId)).status).toBe("stopped");
  expect((await mockSandbox.latestBuild(projectId)).build_id).toBe(build.build_id);
  await settingsPage.snapshot("06-stopped");
});

test("Stopping a rebuild keeps the cache sessions use", async ({ createProject, settings, mockSandbox, request }) => {
  const projectId = await createProject();
  const settingsPage = await settings(projectId);
  await settingsPage.toggle.click();
  await mockSandbox.finishBuild((await mockSandbox.latestBuild(projectId)).build_id, { sizeBytes: 8_700_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 8.7 GB/);

  // A merge to main starts a rebuild; the current cache is shown beside it.
  await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: "abc1234" } });
  await expect(settingsPage.status).toHaveText(/^Building…/);
  await expect(settingsPage.page.getByText(/Current cache: 8.7 GB, built just now/)).toBeVisible();
  await settingsPage.snapshot("07-rebuilding-beside-cache");

  await settingsPage.button("Stop").click();
  await expect(settingsPage.status).toHaveText(/^Ready · 8.7 GB/);
});
