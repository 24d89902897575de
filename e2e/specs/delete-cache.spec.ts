import { expect, test } from "../fixtures.ts";

test("Delete cache asks first, then deletes the golden and the status says there is none", async ({
  createProject,
  settings,
  mockSandbox,
  page,
}) => {
  const projectId = await createProject();
  const settingsPage = await settings(projectId);
  await settingsPage.toggle.click();
  await mockSandbox.finishBuild((await mockSandbox.latestBuild(projectId)).build_id, { sizeBytes: 312_000_000 });
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
  const golden = await page.request.get(`http://127.0.0.1:7171/v1/goldens/${projectId}`);
  expect((await golden.json()).exists).toBe(false);
});
