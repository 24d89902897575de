import { expect, test } from "../fixtures.ts";

test("turning the setting on builds the cache: building, then Ready with its size", async ({
  createProject,
  settings,
  mockSandbox,
  page,
}) => {
  const projectId = await createProject();
  const settingsPage = await settings(projectId);
  await expect(settingsPage.toggle).not.toBeChecked();
  await settingsPage.snapshot("01-off");

  await settingsPage.toggle.click();
  await expect(
    page.getByText("Docker cache build started. This runs your startup script and takes a few minutes."),
  ).toBeVisible();
  await expect(settingsPage.status).toHaveText("Building… Started just now");
  await expect(settingsPage.button("View")).toBeVisible();
  await expect(settingsPage.button("Stop")).toBeVisible();
  await settingsPage.snapshot("02-building");

  // The BFF asked the sandbox for a golden build of the default branch with the saved script.
  const build = await mockSandbox.latestBuild(projectId);
  expect(await mockSandbox.buildRequest(build.build_id)).toMatchObject({
    project_id: projectId,
    branch: "main",
    startup_script: "#!/bin/bash\nset -e\ndocker compose build\n",
  });

  // The sandbox finishes; the page follows without a reload.
  await mockSandbox.finishBuild(build.build_id, { exitCode: 0, sizeBytes: 312_000_000 });
  await expect(settingsPage.status).toHaveText("Ready · 312 MB · Updated just now");
  await expect(settingsPage.button("Delete cache")).toBeVisible();
  await settingsPage.snapshot("03-ready");
});
