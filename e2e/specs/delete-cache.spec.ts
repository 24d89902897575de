import { expect, test } from "../fixtures.ts";

test("Delete cache asks first, then deletes the golden and the status says there is none", async ({
  buildingProject,
  mockSandbox,
  page,
}) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 312_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 312 MB/);

  await settingsPage.button("Delete cache").click();
  const dialog = page.getByRole("dialog", { name: "Delete the Docker cache?" });
  await expect(dialog).toContainText("312 MB will be freed");
  await settingsPage.snapshot("08-delete-confirm");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(settingsPage.status).toHaveText(/^Ready · 312 MB/);

  await settingsPage.button("Delete cache").click();
  await dialog.getByRole("button", { name: "Delete cache" }).click();
  await expect(settingsPage.status).toHaveText("No cache yet — will build on next merge");
  await settingsPage.snapshot("09-deleted");
  expect((await mockSandbox.golden(projectId)).exists).toBe(false);
});
