// Everything the state knows, as the page says it: a queued follow-up, merges behind main,
// paused after failures (and Resume), evicted for disk space, the build history with its chart,
// the script's history, dark mode and a narrow window. Each state is photographed and checked
// by axe.
import { expect, test } from "../fixtures.ts";

test("a merge during a build queues one follow-up; merges while off leave the cache behind main", async ({
  buildingProject,
  mockSandbox,
  request,
  page,
}) => {
  const { projectId, settingsPage, build } = await buildingProject();
  const first = build.build_id;
  await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: "abc1234" } });
  await expect(page.getByText("Next build queued (a merge, abc1234) — it starts when this one ends.")).toBeVisible();
  await expect(page.getByTestId("build-elapsed")).toHaveText(/^\d+s elapsed$/);
  await settingsPage.snapshot("16-queued");

  await mockSandbox.finishBuild(first, { sizeBytes: 1_200_000_000 });
  const second = (await mockSandbox.nextBuild(projectId, first)).build_id;
  await mockSandbox.finishBuild(second, { sizeBytes: 1_300_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 1\.3 GB · Updated just now$/);

  // Merges while the setting is off are only counted.
  await settingsPage.turnOff();
  for (const commit of ["def5678", "0aa1111"]) {
    await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: commit } });
  }
  await expect(settingsPage.status).toHaveText("Ready · 1.3 GB · Updated just now · 2 merges behind main");
  await settingsPage.snapshot("17-merges-behind");

  // The history lists both builds; the chart comes when asked for.
  const table = page.getByRole("table", { name: "Build history" });
  await expect(table.getByRole("row")).toHaveCount(3);
  await expect(table.getByRole("row").nth(1)).toContainText("Merge");
  await expect(table.getByRole("row").nth(1)).toContainText("abc1234");
  await expect(table.getByRole("row").nth(1)).toContainText("1.3 GB");
  await page.getByRole("button", { name: "Show chart" }).click();
  await expect(
    page
      .getByRole("figure", { name: /Golden size and build duration/ })
      .locator("svg")
      .first(),
  ).toBeVisible();
  await settingsPage.snapshot("23-history-chart");
});

test("three failed builds in a row pause merge builds until Resume", async ({
  buildingProject,
  mockSandbox,
  request,
  page,
}) => {
  const started = await buildingProject();
  const { projectId, settingsPage } = started;
  let build = started.build.build_id;
  for (let i = 0; i < 3; i++) {
    await mockSandbox.finishBuild(build, { exitCode: 2 });
    await expect(settingsPage.status).toHaveText("Failed: Startup script exited with code 2");
    if (i < 2) {
      await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: `f00${i}abc` } });
      build = (await mockSandbox.nextBuild(projectId, build)).build_id;
    }
  }
  const paused = page.getByText("Paused after 3 failed builds in a row: merges to main do not start builds.");
  await expect(paused).toBeVisible();
  const merged = await request.post(`/api/v1/projects/${projectId}/main-changed`, { data: { commit_sha: "f00dabc" } });
  expect((await merged.json()).action).toBe("paused");
  await settingsPage.snapshot("18-paused");
  await settingsPage.button("Resume").click();
  await expect(paused).toHaveCount(0);
});

test("a golden evicted for disk space says so", async ({ buildingProject, mockSandbox }) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 500_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 500 MB/);
  await mockSandbox.evictGolden(projectId);
  await expect(settingsPage.status).toHaveText("Evicted just now to free disk space — will build again on next merge");
  await settingsPage.snapshot("19-evicted");
});

test("the script's history shows earlier versions and restores one", async ({ createProject, settings, page }) => {
  const projectId = await createProject({ startupScript: "#!/bin/bash\necho first\n" });
  const settingsPage = await settings(projectId);
  await settingsPage.editor.fill("#!/bin/bash\necho second\n");
  await settingsPage.button("Save").click();
  await expect(page.getByText("Startup script saved")).toBeVisible();
  await settingsPage.button("History").click();
  const dialog = page.getByRole("dialog", { name: "Startup script history" });
  const versions = dialog.getByRole("list", { name: "Saved versions" }).getByRole("button");
  await expect(versions).toHaveCount(2);
  await versions.nth(1).click();
  await expect(dialog.getByLabel("The chosen version")).toContainText("echo first");
  await settingsPage.snapshot("24-script-history");
  await dialog.getByRole("button", { name: "Restore into the editor" }).click();
  await expect(settingsPage.editor).toContainText("echo first");
  await settingsPage.button("Save").click();
  await expect(page.getByText("Startup script saved")).toBeVisible();
});

test("dark mode follows the system, and under 900 px the viewer stacks below the settings", async ({
  buildingProject,
  page,
}) => {
  await page.emulateMedia({ colorScheme: "dark" });
  const { settingsPage } = await buildingProject();
  await settingsPage.button("View").click();
  await expect(settingsPage.viewer).toBeVisible();
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background).not.toBe("rgb(255, 255, 255)");
  await settingsPage.snapshot("25-dark");

  const settingsSection = page.getByRole("region", { name: "Startup Script" });
  const beside = [await settingsSection.boundingBox(), await settingsPage.viewer.boundingBox()];
  expect(beside[1]?.x).toBeGreaterThan((beside[0]?.x ?? 0) + (beside[0]?.width ?? 0) - 1);

  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 820, height: 1000 });
  const stacked = [await settingsSection.boundingBox(), await settingsPage.viewer.boundingBox()];
  expect(stacked[1]?.y).toBeGreaterThan((stacked[0]?.y ?? 0) + (stacked[0]?.height ?? 0) - 1);
  await settingsPage.snapshot("26-narrow");
});
