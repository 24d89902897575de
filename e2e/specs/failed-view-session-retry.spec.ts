import { expect, test } from "../fixtures.ts";

test("a failed build shows why, its session log, and Retry starts another", async ({
  buildingProject,
  mockSandbox,
}) => {
  const { projectId, settingsPage, build: failed } = await buildingProject();
  await mockSandbox.emitLog(
    failed.build_id,
    "Step 1/3 : FROM node:20\n\x1b[31mERROR: failed to solve: pull access denied\x1b[0m\n",
  );
  await mockSandbox.finishBuild(failed.build_id, { exitCode: 2 });

  await expect(settingsPage.status).toHaveText("Failed: Startup script exited with code 2");
  await settingsPage.snapshot("04-failed");

  await settingsPage.button("View session").click();
  await expect(settingsPage.viewer).toContainText(`Finished · ${failed.build_id}`);
  await expect(settingsPage.terminal).toContainText("ERROR: failed to solve: pull access denied");
  await settingsPage.snapshot("05-failed-session-log");

  await settingsPage.button("Retry").click();
  await expect(settingsPage.status).toHaveText("Building… Started just now");
  const retried = await mockSandbox.nextBuild(projectId, failed.build_id);
  expect(retried.build_id).not.toBe(failed.build_id);
  expect(retried.status).toBe("running");
});
