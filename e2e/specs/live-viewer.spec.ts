import { expect, test } from "../fixtures.ts";

test("View shows the build's output from the start, and each line as it is emitted", async ({
  buildingProject,
  mockSandbox,
}) => {
  const { settingsPage, build } = await buildingProject();
  // Output from before the viewer opened is replayed.
  await mockSandbox.emitLog(build.build_id, "\x1b[1m[+] Building 0.0s (1/3)\x1b[0m\n");

  await settingsPage.button("View").click();
  await expect(settingsPage.viewer).toContainText(`Running · ${build.build_id}`);
  await expect(settingsPage.terminal).toContainText("[+] Building 0.0s (1/3)");
  await expect(settingsPage.terminal).not.toContainText("=> [api 2/3]");

  await mockSandbox.emitLog(build.build_id, " => [api 2/3] RUN npm ci\n");
  await expect(settingsPage.terminal).toContainText("=> [api 2/3] RUN npm ci");
  await mockSandbox.emitLog(build.build_id, "\x1b[32m => [api 3/3] COPY . .\x1b[0m\n");
  await expect(settingsPage.terminal).toContainText("=> [api 3/3] COPY . .");
  await settingsPage.snapshot("12-live-viewer");

  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 5_000_000 });
  await expect(settingsPage.terminal).toContainText("end of build output");
  await expect(settingsPage.status).toHaveText(/^Ready · 5 MB/);

  await settingsPage.button("Close the build viewer").click();
  await expect(settingsPage.viewer).toHaveCount(0);
});
