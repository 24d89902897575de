import { expect, test } from "../fixtures.ts";

test("turning the setting off keeps the cache and starts nothing", async ({
  buildingProject,
  mockSandbox,
  request,
}) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 8_700_000_000 });
  await expect(settingsPage.status).toHaveText("Ready · 8.7 GB · Updated just now");

  await settingsPage.turnOff();
  await expect(settingsPage.status).toHaveText("Ready · 8.7 GB · Updated just now");
  await settingsPage.snapshot("11-off-keeps-cache");

  // A merge while off is only recorded.
  const merged = await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: "def5678" } });
  expect((await merged.json()).action).toBe("recorded");
  expect(await mockSandbox.builds(projectId)).toHaveLength(1);
  expect(await mockSandbox.golden(projectId)).toMatchObject({ exists: true, size_bytes: 8_700_000_000 });
});
